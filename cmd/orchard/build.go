package main

import "github.com/spf13/cobra"

func newBuildCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "build",
		Short: "Build a site into a release (Build cache) (not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errNotBuilt },
	}
}
