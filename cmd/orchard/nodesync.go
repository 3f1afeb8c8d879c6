package main

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/publish"
	"github.com/orchardhq/orchard/release"
)

// nodeSync is a node's side of publishing: the signed handler for
// /_orchard/v1/ on its control listener, and the catch-up loop that pulls
// missed releases from the master.
type nodeSync struct {
	n      *publish.Node
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// newNodeSync wires the publish protocol to a node: store is the node's
// release store opened on the node's data dir (blobs, manifests, pointers),
// state its active releases (*node.Node). It does no I/O. Give Handler() to
// the node's control listener for /_orchard/v1/ (node.Node.SetControlHandler),
// call Start once the node is open (catch-up activates releases) and Close on
// the way out. From orchard node:
//
//	ns := newNodeSync(cfg, ncfg, store, nd, logger)  // before nd.Open
//	ns.Start(ctx); defer ns.Close()                 // after nd.Open
func newNodeSync(cfg *config.Config, ncfg *config.Node, store *release.Store, state publish.State, logger *slog.Logger) *nodeSync {
	keep := cfg.Master.KeepReleases
	n := publish.NewNode(publish.NodeConfig{
		Name:    ncfg.Name,
		Secret:  cfg.Secret,
		Blobs:   store.Blobs(),
		State:   state,
		GC:      (&nodeGC{store: store, keep: keep}).run,
		Master:  cfg.Master.Control,
		CatchUp: ncfg.CatchUp.Duration,
		Version: versionString(),
		Logger:  logger,
	})
	return &nodeSync{n: n, cancel: func() {}}
}

// Start runs the catch-up loop (and GC) until Close or ctx ends.
func (ns *nodeSync) Start(ctx context.Context) {
	ctx, ns.cancel = context.WithCancel(ctx)
	ns.wg.Add(1)
	go func() {
		defer ns.wg.Done()
		_ = ns.n.Run(ctx)
	}()
}

// Handler returns the signed /_orchard/v1/ handler.
func (ns *nodeSync) Handler() http.Handler { return ns.n.Handler() }

// Close stops the catch-up loop and waits for it; it may be called more
// than once.
func (ns *nodeSync) Close() error {
	ns.once.Do(func() {
		ns.cancel()
		ns.wg.Wait()
	})
	return nil
}

// nodeGC is a node's GC: the master's rule (master.Service.Collect) on the
// node's store, pruning the sites publish.Node names (every site when it
// names none: the first GC after a start), and sweeping the blobs (which
// reads the manifest of every release kept: seconds at 10,000 sites) only
// once the releases pruned since the last sweep number an eighth of the
// sites: an edit of one page frees a few KiB, not worth seconds of three
// nodes' CPU each time.
type nodeGC struct {
	store  *release.Store
	keep   int
	pruned int // releases pruned since the last sweep
}

// sweepShare is the share of the sites (1/sweepShare) that must have lost a
// release before a sweep.
const sweepShare = 8

func (g *nodeGC) run(sites []string) error {
	if g.keep == 0 {
		return nil // every release is kept: nothing to free
	}
	if sites == nil {
		var err error
		if sites, err = g.store.Sites(); err != nil {
			return err
		}
	}
	for _, site := range sites {
		removed, err := g.store.PruneOver(site, g.keep)
		g.pruned += len(removed)
		if err != nil {
			return err
		}
	}
	if g.pruned == 0 {
		return nil // most runs: no site had more releases than kept
	}
	all, err := g.store.Sites()
	if err != nil || g.pruned*sweepShare < len(all) {
		return err
	}
	g.pruned = 0
	_, err = g.store.GC()
	return err
}
