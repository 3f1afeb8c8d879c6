package main

import "github.com/spf13/cobra"

func newSiteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "site",
		Short: "Create, drop, initialise, list, export and import sites (not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errNotBuilt },
	}
}
