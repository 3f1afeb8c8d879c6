package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/certs"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/master"
	"github.com/orchardhq/orchard/monitor"
	"github.com/orchardhq/orchard/release"
)

func newMasterCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "master",
		Short: "Run the master: serve every site dynamically, and the control API",
		Long: `Run the master of the cluster file: serve every registered site, rendered
from the database, on master.listen (the Host header picks the site), and the
control API nodes catch up from on master.control. Ctrl-C stops it cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			logger := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "master")
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			m, err := openMaster(ctx, cfg, logger)
			if err != nil {
				return err
			}
			<-ctx.Done()
			logger.Info("shutting down")
			return m.Close()
		},
	}
}

// Timeouts and limits of the master's site listener.
const (
	masterReadHeaderTimeout = 10 * time.Second
	masterReadTimeout       = 30 * time.Second
	masterWriteTimeout      = time.Minute
	masterIdleTimeout       = 2 * time.Minute
	masterMaxHeaderBytes    = 16 << 10
)

// masterServer is a running master: its store, its site listener and its
// control listener. Open it with openMaster; Close stops it.
type masterServer struct {
	cfg    *config.Config
	logger *slog.Logger

	store    orchard.Store
	releases *release.Store
	site     *serving
	control  *masterControl
	admin    *masterAdmin
	svc      *master.Service  // builds and publishes for the admin UI; nil without it
	scraper  *monitor.Scraper // feeds the dashboard; nil without an admin listener
	certs    *certs.Manager   // automatic HTTPS; nil without [acme]

	siteMetrics *httpMetrics // requests of the site listener (metrics_master.go)
}

// openMaster starts the master as a list of steps; the admin listener and
// any other part of the master is one more step here (and one more undo in
// Close). On a failed step everything opened before it is closed.
func openMaster(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*masterServer, error) {
	m := &masterServer{cfg: cfg, logger: logger}
	for _, step := range []func(context.Context) error{
		m.initStore,
		m.initSiteServer,
		m.initControl,
		m.initCerts,
		m.initMetrics,
		m.initAdmin,
	} {
		if err := step(ctx); err != nil {
			_ = m.Close()
			return nil, err
		}
	}
	return m, nil
}

// initStore opens the database of the cluster file.
func (m *masterServer) initStore(ctx context.Context) error {
	st, err := openStore(ctx, m.cfg)
	if err != nil {
		return err
	}
	m.store = st
	return nil
}

// initSiteServer serves every site dynamically on master.listen.
func (m *masterServer) initSiteServer(ctx context.Context) error {
	if m.cfg.Master.Listen == "" {
		return usagef("%s: master.listen is empty", m.cfg.Path)
	}
	logger := m.logger.With("listener", "site")
	site, err := listenAndServe(ctx, "master site", m.cfg.Master.Listen, &http.Server{
		Handler:           m.countSiteRequests(master.NewSiteHandler(m.store, logger)),
		ReadHeaderTimeout: masterReadHeaderTimeout,
		ReadTimeout:       masterReadTimeout,
		WriteTimeout:      masterWriteTimeout,
		IdleTimeout:       masterIdleTimeout,
		MaxHeaderBytes:    masterMaxHeaderBytes,
	}, logger)
	if err != nil {
		return err
	}
	m.site = site
	logger.Info("serving sites dynamically", "addr", site.Addr())
	return nil
}

// initControl serves the control API (health, catch-up) on master.control
// from the master's release store.
func (m *masterServer) initControl(context.Context) error {
	if m.cfg.Master.Control == "" {
		return nil
	}
	rs, err := release.OpenStore(m.cfg.Master.Data)
	if err != nil {
		return err
	}
	m.releases = rs
	mc, err := startMasterControl(m.cfg, rs, m.logger.With("listener", "control"))
	if err != nil {
		return err
	}
	m.control = mc
	return nil
}

// SiteAddr returns the address the site listener is bound to.
func (m *masterServer) SiteAddr() string { return m.site.Addr() }

// Close stops the listeners (letting requests in flight finish for a few
// seconds) and closes the store, in the reverse order of openMaster, and
// returns the first error. It works after a partial open and more than once.
func (m *masterServer) Close() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	keep(m.admin.Close())
	if m.certs != nil {
		keep(m.certs.Close())
		m.certs = nil
	}
	if m.scraper != nil {
		keep(m.scraper.Close())
		m.scraper = nil
	}
	if m.control != nil {
		keep(m.control.Close())
		m.control = nil
	}
	keep(m.site.Close())
	m.site = nil
	if m.releases != nil { // after everything that reads blobs has stopped
		keep(m.releases.Close())
		m.releases = nil
	}
	if m.store != nil {
		keep(m.store.Close())
		m.store = nil
	}
	return first
}
