package main

import "github.com/spf13/cobra"

func newMasterCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "master",
		Short: "Run the master: CMS, dynamic rendering, builds (not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errNotBuilt },
	}
}
