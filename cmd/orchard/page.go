package main

import "github.com/spf13/cobra"

func newPageCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "page",
		Short: "Put, get, list and remove pages of a site (not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errNotBuilt },
	}
}
