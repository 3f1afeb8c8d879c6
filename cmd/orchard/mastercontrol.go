package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/master"
	"github.com/orchardhq/orchard/monitor"
	"github.com/orchardhq/orchard/publish"
	"github.com/orchardhq/orchard/release"
)

// masterControl is the master's control listener: /_orchard/health and the
// signed catch-up API nodes pull missed releases from.
type masterControl struct {
	*serving                      // nil when master.control is empty
	reg      *prometheus.Registry // /metrics; more collectors with RegisterMetrics (metrics.go)
}

// startMasterControl serves the master's control API on cfg.Master.Control
// (nothing when it is empty) from the master's release store. It is one step
// of orchard master (and the demo): call Close on the way out.
func startMasterControl(cfg *config.Config, store *release.Store, logger *slog.Logger) (*masterControl, error) {
	mc := &masterControl{}
	if cfg.Master.Control == "" {
		return mc, nil
	}
	cat := master.Catalog{Store: store}
	api := publish.NewMasterHandler(publish.MasterConfig{
		Secret: cfg.Secret, Catalog: cat, Blobs: store.Blobs(), Version: versionString(), Logger: logger,
	})
	mux := http.NewServeMux()
	mux.Handle("/_orchard/v1/", api)
	mux.HandleFunc("GET "+orchard.HealthPath, func(w http.ResponseWriter, r *http.Request) {
		act, err := cat.Active()
		h := orchard.Health{OK: err == nil, Role: "master", Releases: act}
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(h)
	})
	mc.reg = masterRegistry(cfg.Master.Data, cat, logger)
	mux.Handle("GET /metrics", monitor.Handler(mc.reg, logger))
	srv, err := listenAndServe(context.Background(), "master control", cfg.Master.Control, &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}, logger)
	if err != nil {
		return nil, err
	}
	mc.serving = srv
	logger.Info("master control listening", "addr", srv.Addr())
	return mc, nil
}
