package main

import "github.com/spf13/cobra"

func newBalancerCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "balancer",
		Short: "Run the load balancer (not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errNotBuilt },
	}
}
