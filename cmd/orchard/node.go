package main

import "github.com/spf13/cobra"

func newNodeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "node NAME",
		Short: "Run a web node that serves active releases (not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errNotBuilt },
	}
}
