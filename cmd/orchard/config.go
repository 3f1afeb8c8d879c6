package main

import "github.com/spf13/cobra"

func newConfigCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Check and print the cluster file (not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errNotBuilt },
	}
}
