package main

import "github.com/spf13/cobra"

func newRollbackCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rollback [RELEASE]",
		Short: "Activate an earlier release everywhere (not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errNotBuilt },
	}
}
