package master

import (
	"context"
	"fmt"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/publish"
)

// DefaultPublishWorkers is how many sites PublishAll publishes at once
// unless told otherwise. Each publish waits on the nodes most of its time
// (their fsyncs and activations), so a few at once keep them busy; the
// Publisher's NodeRequests bounds what each node is asked at once.
const DefaultPublishWorkers = 8

// recordEvery is how many publishes PublishAll records in the statistics
// at a time.
const recordEvery = 256

// SiteResult is how the publish of one site of PublishAll went.
type SiteResult struct {
	Site string
	// Result is nil when the publish failed before reaching any node.
	Result *publish.Result
	// Err is why the publish failed as a whole (no release, the master's
	// catalog, cancelled); per-node failures are in Result.
	Err error
}

// OK reports whether every node that is up activated the site's release.
func (r SiteResult) OK() bool { return r.Err == nil && r.Result != nil && r.Result.OK() }

// AllOptions say how PublishAll runs.
type AllOptions struct {
	// Workers is how many sites are published at once; default
	// DefaultPublishWorkers.
	Workers int
	// Site, when not nil, is called with each site's result in the order
	// of the sites given, from one goroutine, as soon as that site and
	// every one before it are done.
	Site func(SiteResult)
}

// AllSummary is what PublishAll did.
type AllSummary struct {
	Sites     int // sites given
	Published int // activated on every node that is up
	Failed    int // the others that were tried (not those a cancel left out)
	// Edge is what each balancer routes to once asked to check its
	// members at the end (none without balancers).
	Edge     []EdgeSummary
	Duration time.Duration
}

// EdgeSummary is how one balancer routes the sites PublishAll published.
type EdgeSummary struct {
	Name string
	// Behind counts published sites it still routes to another release
	// (a node that activated it is not up there yet).
	Behind int
	Err    error // it could not be asked; it learns at its next health check
}

// PublishAll publishes the newest release of each site to every node,
// Workers sites at a time, and reports each site's result (opt.Site) in
// the order of sites. A site that fails is reported and the others carry
// on; each site is still published atomically on every node (see
// publish.Publisher.Send). The results are recorded in the publish
// statistics a few hundred at a time, the balancers are asked once at
// the end to check their members, and the prune + GC rule is applied
// once. What it holds at once is bounded by Workers, not by the number of
// sites: a few manifests in flight and each published site's release id.
//
// It returns an EINVALID *orchard.Error without a Publisher, and the
// context's error (with the summary of what was done) when ctx ends: the
// sites not started by then are left as they were.
func (s *Service) PublishAll(ctx context.Context, sites []string, opt AllOptions) (*AllSummary, error) {
	if s.Publisher == nil {
		return nil, orchard.Errorf(orchard.EINVALID, "The cluster has no node to publish to.")
	}
	start := time.Now()
	workers := opt.Workers
	workers = orchard.OrDefault(workers, DefaultPublishWorkers)
	type job struct {
		site string
		out  chan SiteResult
	}
	jobs := make(chan job)
	// order holds the result channel of each site started and not yet
	// reported, in the order of sites: the results are reported in that
	// order while later sites go on, at most cap(order) ahead.
	order := make(chan chan SiteResult, 4*workers)
	for range workers {
		go func() {
			for j := range jobs {
				j.out <- s.publishNewest(ctx, j.site)
			}
		}()
	}
	go func() {
		defer close(order)
		defer close(jobs)
		for _, site := range sites {
			if ctx.Err() != nil {
				return
			}
			out := make(chan SiteResult, 1)
			select {
			case order <- out:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{site: site, out: out}:
			case <-ctx.Done():
				out <- SiteResult{Site: site, Err: fmt.Errorf("publish %s: %w", site, ctx.Err())}
				return
			}
		}
	}()

	sum := &AllSummary{Sites: len(sites)}
	published := map[string]string{} // site -> release id, for the edge summary
	var recs []publishRecord
	flush := func() {
		if err := recordPublishes(s.dataDir(), recs); err != nil {
			s.logger().Warn("record publish metrics", "sites", len(recs), "err", err)
		}
		recs = recs[:0]
	}
	for out := range order {
		r := <-out
		if r.OK() {
			sum.Published++
			published[r.Site] = r.Result.Release
		} else if ctx.Err() == nil || r.Result != nil {
			sum.Failed++ // one a cancel stopped before it reached the nodes is not a failure
		}
		if r.Result != nil || ctx.Err() == nil {
			recs = append(recs, publishRecord{site: r.Site, res: r.Result, err: r.Err, at: s.now()})
		}
		if opt.Site != nil {
			opt.Site(r)
		}
		if len(recs) >= recordEvery {
			flush()
		}
	}
	flush()
	sum.Duration = time.Since(start)
	if err := ctx.Err(); err != nil {
		// Stopped: the balancers learn at their next health check, and
		// the prune + GC rule waits for the next publish (at thousands
		// of sites a collection reads every manifest).
		return sum, fmt.Errorf("publish: %w after %d of %d sites", err, sum.Published+sum.Failed, sum.Sites)
	}
	if len(published) > 0 {
		sum.Edge = edgeSummary(s.Publisher.RefreshBalancers(ctx), published)
	}
	s.afterPublish()
	sum.Duration = time.Since(start)
	return sum, nil
}

// publishNewest publishes the newest release of site without recording
// it, refreshing the balancers or collecting garbage (PublishAll does each
// once for many sites).
func (s *Service) publishNewest(ctx context.Context, site string) SiteResult {
	r := SiteResult{Site: site}
	if err := ctx.Err(); err != nil {
		r.Err = fmt.Errorf("publish %s: %w", site, err)
		return r
	}
	id, err := s.Releases.Latest(site)
	if err == nil && id == "" {
		err = orchard.Errorf(orchard.ENOTFOUND, "%s has no release yet.", site)
	}
	if err != nil {
		r.Err = err
		return r
	}
	r.Result, r.Err = s.sendRelease(ctx, site, id, publish.SendOptions{SkipEdge: true}, nil)
	if r.OK() {
		if err := clearRollbackMark(s.dataDir(), site); err != nil {
			s.logger().Warn("clear rollback mark", "site", site, "err", err)
		}
	}
	return r
}

// edgeSummary counts, for each balancer, the published sites (site ->
// release id) it routes to another release.
func edgeSummary(routes []publish.BalancerRoutes, published map[string]string) []EdgeSummary {
	out := make([]EdgeSummary, len(routes))
	for i, r := range routes {
		out[i] = EdgeSummary{Name: r.Name, Err: r.Err}
		if r.Err != nil {
			continue
		}
		for site, id := range published {
			if r.Releases[site] != id {
				out[i].Behind++
			}
		}
	}
	return out
}
