package main

import "github.com/spf13/cobra"

func newStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the release active on each node (not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errNotBuilt },
	}
}
