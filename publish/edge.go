package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sync"
	"time"

	"github.com/orchardhq/orchard"
)

// EdgeResult is what one balancer routes a published site to once it has
// re-checked its members (orchard.RefreshPath).
type EdgeResult struct {
	Name    string
	Addr    string
	Release string // the site's newest release as the balancer routes it; "" = unknown to it
	Err     error  // the balancer could not be asked; it learns at its next health check
}

// Visible reports whether the balancer routes the site to release id.
func (e EdgeResult) Visible(id string) bool { return e.Err == nil && e.Release == id }

// edgeTimeout bounds how long a publish waits for the balancers' checks.
const edgeTimeout = 10 * time.Second

// refreshEdge asks every balancer at once to check its members now, so
// that the edge routes site to the release just activated (and its cache,
// keyed by release, stops answering with the old one) before the publish
// returns. A balancer that cannot be asked is reported, not fatal: its
// periodic health checks move it within their interval.
func (p *Publisher) refreshEdge(ctx context.Context, site string) []EdgeResult {
	routes := p.refreshBalancers(ctx, site)
	if len(routes) == 0 {
		return nil
	}
	out := make([]EdgeResult, len(routes))
	for i, r := range routes {
		out[i] = EdgeResult{Name: r.Name, Addr: r.Addr, Release: r.Releases[site], Err: r.Err}
	}
	return out
}

// BalancerRoutes is what one balancer routes every site to once it has
// re-checked its members.
type BalancerRoutes struct {
	Name     string
	Addr     string
	Releases map[string]string // site -> the newest release it routes to
	Err      error             // the balancer could not be asked; it learns at its next health check
}

// RefreshBalancers asks every balancer at once to check its members now
// and returns what each routes to, in the order of p.Balancers (none
// without balancers). A publish of one site does it itself; a publish of
// many skips it for each (SendOptions.SkipEdge) and calls this once.
func (p *Publisher) RefreshBalancers(ctx context.Context) []BalancerRoutes {
	return p.refreshBalancers(ctx, "")
}

// refreshBalancers is RefreshBalancers; with a site, the balancers answer
// with that site's release alone (not a list of 10,000 for one publish).
func (p *Publisher) refreshBalancers(ctx context.Context, site string) []BalancerRoutes {
	if len(p.Balancers) == 0 {
		return nil
	}
	hc, log, _, _ := p.defaults()
	ctx, cancel := context.WithTimeout(ctx, edgeTimeout)
	defer cancel()
	out := make([]BalancerRoutes, len(p.Balancers))
	var wg sync.WaitGroup
	for i, t := range p.Balancers {
		out[i] = BalancerRoutes{Name: t.Name, Addr: t.ControlAddr}
		wg.Go(func() {
			r := &out[i]
			rels, err := refreshBalancer(ctx, newClient(t.ControlAddr, BalancerTarget, p.Secret, hc), site)
			if err != nil {
				r.Err = fmt.Errorf("refresh balancer %s: %w", t.Name, err)
				log.Warn("balancer not refreshed", "balancer", t.Name, "err", err)
				return
			}
			r.Releases = rels
		})
	}
	wg.Wait()
	return out
}

// refreshBalancer posts a signed refresh to one balancer and returns the
// releases it answers with (of site alone, unless site is ""). The answer
// is not signed: it only decides what the publish reports.
func refreshBalancer(ctx context.Context, c *client, site string) (map[string]string, error) {
	path := orchard.RefreshPath
	if site != "" {
		path += "?site=" + url.QueryEscape(site)
	}
	resp, _, err := c.do(ctx, "POST", path, nil, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var h orchard.Health
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&h); err != nil {
		return nil, fmt.Errorf("%w: decode answer: %v", ErrInvalid, err)
	}
	return h.Releases, nil
}
