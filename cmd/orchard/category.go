package main

import "github.com/spf13/cobra"

func newCategoryCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "category",
		Short: "Put, list and remove categories of a site (not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errNotBuilt },
	}
}
