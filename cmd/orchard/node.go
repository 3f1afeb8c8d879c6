package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

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
			store, err := release.OpenStore(ncfg.Data)
			if err != nil {
				return err
			}
			var ns *nodeSync
			var metrics http.Handler // set once the node exists (metrics.go)
			nd := node.New(node.Config{
				Name:    ncfg.Name,
				Dir:     ncfg.Data,
				Store:   store,
				Listen:  ncfg.Listen,
				Control: ncfg.Control,
				ControlHandler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					ns.Handler().ServeHTTP(w, r)
				}),
				Metrics:           lateHandler(&metrics),
				MaxConns:          ncfg.MaxConns,
				KeepAlive:         ncfg.KeepAlive.Duration,
				ReadHeaderTimeout: ncfg.ReadHeaderTimeout.Duration,
				MaxHeaderBytes:    ncfg.MaxHeaderBytes,
				CacheBytes:        ncfg.CacheBytes,
				Version:           versionString(),
				Logger:            logger,
			})
			ns = newNodeSync(cfg, ncfg, store, nd, logger)
			metrics = nodeMetrics(nd, ncfg.Name, ncfg.Data, logger)
			ctx := cmd.Context()
			if err := nd.Open(ctx); err != nil {
				nd.Close()
				return fmt.Errorf("node %s: %w", ncfg.Name, err)
			}
			ns.Start(ctx)
			fmt.Fprintf(cmd.OutOrStdout(), "node %s serving on http://%s (control %s), %d sites\n",
				ncfg.Name, nd.Addr(), nd.ControlAddr(), len(nd.Releases()))
			<-ctx.Done()
			serr := ns.Close()
			if err := nd.Close(); err != nil {
				return err
			}
			if err := store.Close(); err != nil && serr == nil {
				serr = fmt.Errorf("close release store: %w", err)
			}
			return serr
		},
	}
}
