package main

import "github.com/spf13/cobra"

func newDemoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Run a whole cluster on loopback with sample sites (not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errNotBuilt },
	}
}
