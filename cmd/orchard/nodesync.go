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

// startNodeSync wires the publish protocol to a node: store is the node's
// release store (blobs, manifests, active pointers), state its active
// releases (*node.Node). Mount Handler() at /_orchard/v1/ on the control
// listener; Close stops the catch-up loop and waits for it. One call from
// orchard node:
//
//	ns := startNodeSync(ctx, cfg, ncfg, store, n, logger); defer ns.Close()
func startNodeSync(ctx context.Context, cfg *config.Config, ncfg *config.Node, store *release.Store, state publish.State, logger *slog.Logger) *nodeSync {
	keep := cfg.Master.KeepReleases
	n := publish.NewNode(publish.NodeConfig{
		Name:   ncfg.Name,
		Secret: cfg.Secret,
		Blobs:  store.Blobs(),
		State:  state,
		GC: func() error {
			sites, err := store.Sites()
			if err != nil {
				return err
			}
			for _, s := range sites {
				if _, err := store.Prune(s, keep); err != nil {
					return err
				}
			}
			_, err = store.GC()
			return err
		},
		Master:  cfg.Master.Control,
		CatchUp: ncfg.CatchUp.Duration,
		Version: versionString(),
		Logger:  logger,
	})
	ctx, cancel := context.WithCancel(ctx)
	ns := &nodeSync{n: n, cancel: cancel}
	ns.wg.Add(1)
	go func() {
		defer ns.wg.Done()
		_ = n.Run(ctx)
	}()
	return ns
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
