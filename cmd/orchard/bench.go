package main

import "github.com/spf13/cobra"

func newBenchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "bench URL...",
		Short: "Load-test a URL, like siege (not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errNotBuilt },
	}
}
