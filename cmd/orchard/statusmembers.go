package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/publish"
)

// memberNotes asks every balancer of the cluster file with a control
// address for its members, and returns a line for each node an operator
// took out of use there (drained or disabled), and for each balancer that
// could not be asked. A node that serves the master's releases yet takes
// no traffic is what an operator reading `orchard status` needs to know.
func memberNotes(ctx context.Context, cfg *config.Config) []string {
	targets := balancerTargets(cfg)
	views := make([][]orchard.MemberSetting, len(targets))
	errs := make([]error, len(targets))
	hc := publish.NewHTTPClient(2)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { views[i], errs[i] = publish.BalancerMembers(ctx, hc, cfg.Secret, t) })
	}
	wg.Wait()
	var notes []string
	for i, t := range targets {
		name := "balancer " + t.Name
		if t.Name == "balancer" { // the one balancer of a file without peers
			name = "the balancer"
		}
		if errs[i] != nil {
			notes = append(notes, fmt.Sprintf("%s (%s): not asked for its members: %v", name, t.ControlAddr, errs[i]))
			continue
		}
		for _, s := range views[i] {
			if s.Admin == orchard.MemberOK || s.Admin == "" {
				continue
			}
			note := fmt.Sprintf("%s: %s on %s, pool %s", s.Member, s.Admin, name, s.Pool)
			if !s.Changed.IsZero() {
				note += ", since " + s.Changed.Local().Format("2006-01-02 15:04:05")
			}
			notes = append(notes, note)
		}
	}
	return notes
}
