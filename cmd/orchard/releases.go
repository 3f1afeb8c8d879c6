package main

import "github.com/spf13/cobra"

func newReleasesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "releases",
		Short: "List the releases of a site (not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errNotBuilt },
	}
}
