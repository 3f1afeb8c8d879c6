package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
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
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
	once sync.Once
	reg  *prometheus.Registry // /metrics; more collectors with RegisterMetrics (metrics.go)
}

// startMasterControl serves the master's control API on cfg.Master.Control
// (nothing when it is empty) from the master's release store. It is one step
// of orchard master (and the demo): call Close on the way out.
func startMasterControl(cfg *config.Config, store *release.Store, logger *slog.Logger) (*masterControl, error) {
	mc := &masterControl{done: make(chan struct{})}
	if cfg.Master.Control == "" {
		close(mc.done)
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
	mc.reg = masterRegistry(cfg.Master.Data, func() map[string]string { a, _ := cat.Active(); return a }, logger)
	mux.Handle("GET /metrics", monitor.Handler(mc.reg, logger))
	ln, err := net.Listen("tcp", cfg.Master.Control)
	if err != nil {
		return nil, fmt.Errorf("master control listener: %w", err)
	}
	mc.ln = ln
	mc.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() {
		defer close(mc.done)
		if err := mc.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("master control listener", "err", err)
		}
	}()
	logger.Info("master control listening", "addr", ln.Addr().String())
	return mc, nil
}

// Addr returns the address the control listener is bound to ("" if none).
func (mc *masterControl) Addr() string {
	if mc.ln == nil {
		return ""
	}
	return mc.ln.Addr().String()
}

// Close stops the listener, lets requests in flight finish for a few
// seconds and waits for the server; it may be called more than once.
func (mc *masterControl) Close() error {
	var err error
	mc.once.Do(func() {
		if mc.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err = mc.srv.Shutdown(ctx); err != nil {
				err = mc.srv.Close()
			}
		}
		<-mc.done
	})
	return err
}
