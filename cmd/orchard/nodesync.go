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
		Name:   ncfg.Name,
		Secret: cfg.Secret,
		Blobs:  store.Blobs(),
		State:  state,
		GC: func(sites []string) error {
			// The master's rule (master.Service.Collect), on the node's
			// store, pruning only the sites named.
			if sites == nil {
				_, err := store.Collect(keep)
				return err
			}
			for _, site := range sites {
				if keep == 0 {
					break // 0 keeps every release
				}
				if _, err := store.Prune(site, keep); err != nil {
					return err
				}
			}
			_, err := store.GC()
			return err
		},
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
