package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/node"
	"github.com/orchardhq/orchard/release"
)

func newNodeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "node NAME",
		Short: "Run a web node that serves active releases",
		Long: `Run the web node NAME of the cluster file: serve the active release of every
site from its data directory on its listen address, and the control API
(health, status, publish) on its control address. Ctrl-C stops it.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("give the node's name: orchard node NAME")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			ncfg, err := cfg.Node(args[0])
			if err != nil {
				return usageError{err}
			}
			logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
			setWorkers(ncfg.Workers, logger)
			if os.Getenv("GOGC") == "" {
				// The heap is mostly the hot-blob cache and serving
				// allocates nothing, so collections are rare anyway: a low
				// GOGC keeps the process near its live size instead of 2x.
				debug.SetGCPercent(25)
			}
			ctx := cmd.Context()
			wn, err := openWebNode(ctx, cfg, ncfg, logger)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "node %s serving on http://%s (control %s), %d sites\n",
				ncfg.Name, wn.nd.Addr(), wn.nd.ControlAddr(), len(wn.nd.Releases()))
			<-ctx.Done()
			return wn.Close()
		},
	}
}

// webNode is a running web node: the server of its sites, the publish
// protocol's receiver with its catch-up loop, and the store they share.
type webNode struct {
	store *release.Store
	nd    *node.Node
	sync  *nodeSync
}

// openWebNode opens the node ncfg of the cluster cfg: its release store,
// the node serving it, the signed publish API and /metrics on its control
// listener, and the catch-up loop (until ctx ends or Close).
func openWebNode(ctx context.Context, cfg *config.Config, ncfg *config.Node, logger *slog.Logger) (*webNode, error) {
	store, err := release.OpenStore(ncfg.Data)
	if err != nil {
		return nil, err
	}
	var metrics http.Handler // set once the node exists (metrics.go)
	nd := node.New(node.Config{
		Name:              ncfg.Name,
		Dir:               ncfg.Data,
		Store:             store,
		Listen:            ncfg.Listen,
		Control:           ncfg.Control,
		MaxConns:          ncfg.MaxConns,
		KeepAlive:         ncfg.KeepAlive.Duration,
		ReadHeaderTimeout: ncfg.ReadHeaderTimeout.Duration,
		MaxHeaderBytes:    ncfg.MaxHeaderBytes,
		CacheBytes:        ncfg.CacheBytes,
		SiteMetrics:       ncfg.SiteMetrics,
		Version:           versionString(),
		Logger:            logger,
		Metrics:           lateHandler(&metrics),
	})
	ns := newNodeSync(cfg, ncfg, store, nd, logger)
	nd.SetControlHandler(ns.Handler())
	metrics = nodeMetrics(nd, ns.n, ncfg.Name, ncfg.Data, logger)
	if err := nd.Open(ctx); err != nil {
		nd.Close()
		return nil, errors.Join(fmt.Errorf("node %s: %w", ncfg.Name, err), store.Close())
	}
	ns.Start(ctx)
	return &webNode{store: store, nd: nd, sync: ns}, nil
}

// Close stops the catch-up loop, then the node, then closes the store,
// returning the first error.
func (w *webNode) Close() error {
	err := w.sync.Close()
	if cerr := w.nd.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if cerr := w.store.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close release store: %w", cerr)
	}
	return err
}
