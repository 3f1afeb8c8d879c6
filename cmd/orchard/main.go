// Command orchard runs every role of an orchard cluster (master, web node,
// balancer) and the tools around it (site, build, publish, bench, ...).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newRootCmd().ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "orchard:", err)
	}
	os.Exit(exitCode(err))
}

// usageError marks a mistake in how a command was called or configured;
// it exits with status 2, like a bad flag.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// errNotBuilt is returned by commands that a later part of orchard fills in.
var errNotBuilt = usageError{errors.New("this command is not built yet")}

func exitCode(err error) int {
	var u usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u):
		return 2
	default:
		return 1
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "orchard",
		Short: "Host many small websites on a cluster of cheap machines",
		Long: `orchard is one binary for a whole web cluster: a master that holds the CMS
and builds each site into an immutable release, web nodes that serve releases
from memory, and a balancer in front. Every command reads the cluster file
given by --config, else $ORCHARD_CONFIG, else ./orchard.toml.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().String("config", "", "cluster file (default $ORCHARD_CONFIG, else ./orchard.toml)")
	root.AddCommand(
		newMasterCmd(),
		newNodeCmd(),
		newBalancerCmd(),
		newSiteCmd(),
		newImportCmd(),
		newPageCmd(),
		newCategoryCmd(),
		newRedirectCmd(),
		newBuildCmd(),
		newReleasesCmd(),
		newPublishCmd(),
		newRollbackCmd(),
		newStatusCmd(),
		newDBCmd(),
		newBenchCmd(),
		newProbeCmd(),
		newDemoCmd(),
		newConfigCmd(),
		newCertsCmd(),
		newVersionCmd(),
	)
	root.AddCommand(newMemberActionCmds()...)
	return root
}

// configPath returns the cluster file a command should read.
func configPath(cmd *cobra.Command) string {
	if p, _ := cmd.Flags().GetString("config"); p != "" {
		return p
	}
	if p := os.Getenv("ORCHARD_CONFIG"); p != "" {
		return p
	}
	return "orchard.toml"
}
