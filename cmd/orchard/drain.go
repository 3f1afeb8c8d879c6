package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/publish"
)

// newMemberActionCmds returns drain, undrain, disable and enable: one
// manager action sent to every balancer of the cluster file.
func newMemberActionCmds() []*cobra.Command {
	return []*cobra.Command{
		newMemberActionCmd("drain", orchard.ActionDrain, "Drain a node on every balancer: no new requests, those in flight finish"),
		newMemberActionCmd("undrain", orchard.ActionEnable, "Take a drained or disabled node back into use on every balancer"),
		newMemberActionCmd("disable", orchard.ActionDisable, "Disable a node on every balancer: no requests at all"),
		newMemberActionCmd("enable", orchard.ActionEnable, "Take a drained or disabled node back into use on every balancer (same as undrain)"),
	}
}

func newMemberActionCmd(use, action, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use + " NODE",
		Short: short,
		Long: short + `.

NODE is a member name; the action applies in every pool of the cluster file
that has it, on every balancer at once (signed with the cluster secret, on
each balancer's control address), and persists there like an action on the
manager page. One line per balancer says whether it applied; the command
exits 1 when a balancer could not be reached (it adopts the newest actions
from the others when it starts again).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(configPath(cmd))
			if err != nil {
				return usageError{err}
			}
			node := args[0]
			pools := poolsWith(cfg, node)
			if len(pools) == 0 {
				return usagef("no pool of %s has a member %q", cfg.Path, node)
			}
			balancers := balancerTargets(cfg)
			if len(balancers) == 0 {
				return usagef("%s: no balancer has a control address (balancer.control)", cfg.Path)
			}
			a := orchard.MemberAction{Action: action, At: time.Now()}
			res := publish.SetTierMember(cmd.Context(), nil, cfg.Secret, balancers, pools, node, a)
			if failed := printTierResults(cmd.OutOrStdout(), use, node, res); failed > 0 {
				return fmt.Errorf("%s %s: %d of %d balancers not reached", use, node, failed, len(res))
			}
			return nil
		},
	}
}

// poolsWith lists the pools that have a member called node.
func poolsWith(cfg *config.Config, node string) []string {
	var out []string
	for _, p := range cfg.Balancer.Pools {
		for _, m := range p.Members {
			if m.Name == node {
				out = append(out, p.Name)
				break
			}
		}
	}
	return out
}

// balancerTargets lists every balancer of the cluster file, by name.
func balancerTargets(cfg *config.Config) []publish.Target {
	var out []publish.Target
	for name, addr := range cfg.BalancerControls() {
		out = append(out, publish.Target{Name: name, ControlAddr: addr})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// printTierResults prints one line per balancer and returns how many did
// not apply the action.
func printTierResults(w io.Writer, verb, node string, res []publish.TierResult) int {
	failed := 0
	for _, r := range res {
		if r.Err != nil {
			failed++
			fmt.Fprintf(w, "%s (%s): NOT applied: %v\n", r.Name, r.Addr, r.Err)
			continue
		}
		fmt.Fprintf(w, "%s (%s): %s %s in pool %s\n", r.Name, r.Addr, verb, node, strings.Join(r.Applied, ", "))
	}
	return failed
}
