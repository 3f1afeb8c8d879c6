package main

import "github.com/spf13/cobra"

func newProbeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "probe URL",
		Short: "Watch a URL's response time (not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errNotBuilt },
	}
}
