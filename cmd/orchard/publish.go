package main

import "github.com/spf13/cobra"

func newPublishCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "publish",
		Short: "Publish the newest release to every node (not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errNotBuilt },
	}
}
