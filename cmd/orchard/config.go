package main

import (
	"fmt"

	"github.com/orchardhq/orchard/config"
	"github.com/spf13/cobra"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check and print the cluster file",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate the cluster file and print the effective configuration",
		Long: `Validate the cluster file and print the effective configuration, with every
default filled in and every path made absolute. Mistakes are reported as
FILE:LINE: KEY: what is wrong, and the command exits with status 2.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(configPath(cmd))
			if err != nil {
				return usageError{err}
			}
			out, err := cfg.TOML()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "# %s is valid; effective configuration:\n%s", cfg.Path, out)
			return nil
		},
	})
	return cmd
}
