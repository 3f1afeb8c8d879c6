package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/master"
	"github.com/orchardhq/orchard/publish"
)

func newStatusCmd() *cobra.Command {
	var (
		timeout time.Duration
		filter  string
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the release active on each node",
		Long: `Ask every node of the cluster file for its active releases and show, per
site, the release the master published last and the one each node serves;
nodes that serve another release (or none) lag and are marked with '*'.
It also asks each balancer with a control address which nodes an operator
drained or disabled there (orchard drain), and says so. Exits 1 when a node
is down or lags (not for a drained node, nor a balancer it could not ask).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pattern, err := orchard.ParseHostPattern(filter)
			if err != nil {
				return usagef("--filter: %s", orchard.ErrorMessage(err))
			}
			cfg, store, err := loadReleases(cmd)
			if err != nil {
				return err
			}
			active, err := master.Catalog{Store: store}.Active()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel func()
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			states := newPublisher(cfg, store, cmdLogger(true)).Status(ctx)
			notes := memberNotes(ctx, cfg)
			if lagging := printStatus(cmd.OutOrStdout(), active, states, pattern, notes); lagging > 0 {
				return fmt.Errorf("%d node(s) down or lagging", lagging)
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the nodes")
	cmd.Flags().StringVar(&filter, "filter", "", "show only the sites whose host matches this shell pattern (*, ?, [a-z]); lagging counts only them")
	return cmd
}

// printStatus prints one row per site and one column per node, then notes
// (lines about the balancers' view of the nodes), and returns how many
// nodes are down or lag on some site that filter matches. The summary
// line comes last.
func printStatus(w io.Writer, master map[string]string, states []publish.NodeState, filter orchard.HostPattern, notes []string) int {
	sites := map[string]bool{}
	for s := range master {
		sites[s] = filter.Match(s)
	}
	for _, st := range states {
		if st.Status != nil {
			for s := range st.Status.Releases {
				sites[s] = filter.Match(s)
			}
		}
	}
	names := make([]string, 0, len(sites))
	for s, shown := range sites {
		if shown {
			names = append(names, s)
		}
	}
	sort.Strings(names)

	bad := map[string]bool{}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := []string{"SITE", "MASTER"}
	for _, st := range states {
		head = append(head, st.Name)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, s := range names {
		row := []string{s, orDash(master[s])}
		for _, st := range states {
			switch {
			case st.Down:
				row = append(row, "down")
				bad[st.Name] = true
			case st.Err != nil:
				row = append(row, "error")
				bad[st.Name] = true
			default:
				id := st.Status.Releases[s]
				cell := orDash(id)
				if id != master[s] {
					cell += " *"
					bad[st.Name] = true
				}
				row = append(row, cell)
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	for _, st := range states {
		switch {
		case st.Down:
			bad[st.Name] = true // down whatever the filter shows
			fmt.Fprintf(w, "%s (%s): down: %v\n", st.Name, st.Addr, st.Err)
		case st.Err != nil:
			bad[st.Name] = true
			fmt.Fprintf(w, "%s (%s): %v\n", st.Name, st.Addr, st.Err)
		case st.Status.Sync.Error != "":
			// Rounds run every few seconds: the age tells a past hiccup
			// (the master restarting) from a node that keeps failing.
			fmt.Fprintf(w, "%s: last catch-up (%s ago) failed: %s\n", st.Name,
				time.Since(st.Status.Sync.At).Round(time.Second), st.Status.Sync.Error)
		}
	}
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	if len(bad) == 0 {
		fmt.Fprintf(w, "all %d nodes serve the master's releases\n", len(states))
	}
	return len(bad)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
