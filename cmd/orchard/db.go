package main

import "github.com/spf13/cobra"

func newDBCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "db",
		Short: "Manage MySQL/MariaDB replication (not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errNotBuilt },
	}
}
