package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/admin"
	"github.com/orchardhq/orchard/certs"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/master"
	"github.com/orchardhq/orchard/publish"
	"github.com/orchardhq/orchard/release"
)

// Timeouts of the admin listener; uploads of up to orchard.MaxAssetLen
// must fit in the read timeout on a slow LAN link.
const (
	adminReadHeaderTimeout = 10 * time.Second
	adminReadTimeout       = 2 * time.Minute
	adminWriteTimeout      = 2 * time.Minute
	adminIdleTimeout       = 2 * time.Minute
	adminMaxHeaderBytes    = 16 << 10
)

// masterAdmin is the admin UI on master.admin.
type masterAdmin struct {
	ui *admin.Handler
	*serving
}

// initAdmin serves the admin UI on master.admin (nothing when it is empty).
func (m *masterServer) initAdmin(ctx context.Context) error {
	if m.cfg.Master.Admin == "" {
		return nil
	}
	if m.releases == nil {
		rs, err := release.OpenStore(m.cfg.Master.Data)
		if err != nil {
			return err
		}
		m.releases = rs
	}
	logger := m.logger.With("listener", "admin")
	sc, dash, err := openDashboard(ctx, m.cfg, logger)
	if err != nil {
		return err
	}
	m.svc = newService(m.cfg, m.store, m.releases, logger)
	a, err := startAdmin(ctx, m.cfg, m.store, m.svc, logger, dash)
	if err != nil {
		sc.Close()
		return err
	}
	m.admin, m.scraper = a, sc
	return nil
}

// AdminAddr returns the address the admin listener is bound to ("" if none).
func (m *masterServer) AdminAddr() string {
	if m.admin == nil {
		return ""
	}
	return m.admin.Addr()
}

// startAdmin listens on cfg.Master.Admin and serves the admin UI, with
// content from st, and builds and publishes by svc. dashboard (nil: none)
// is served behind the login at /dashboard/.
func startAdmin(ctx context.Context, cfg *config.Config, st orchard.Store, svc *master.Service, logger *slog.Logger, dashboard admin.DashboardView) (*masterAdmin, error) {
	be := &adminBackend{svc: svc}
	opt := admin.Options{Store: st, Builder: be, Logger: logger, Dashboard: dashboard}
	if svc.Publisher != nil {
		opt.Publisher = be
	}
	if cfg.ACME != nil {
		opt.HTTPS = &certs.SettingsFile{Path: httpsSettingsFile(cfg)}
	}
	ui := admin.New(opt)
	srv, err := listenAndServe(ctx, "master admin", cfg.Master.Admin, &http.Server{
		Handler:           ui,
		ReadHeaderTimeout: adminReadHeaderTimeout,
		ReadTimeout:       adminReadTimeout,
		WriteTimeout:      adminWriteTimeout,
		IdleTimeout:       adminIdleTimeout,
		MaxHeaderBytes:    adminMaxHeaderBytes,
	}, logger)
	if err != nil {
		_ = ui.Close() // no job has run
		return nil, err
	}
	a := &masterAdmin{ui: ui, serving: srv}
	logger.Info("admin UI listening", "addr", a.Addr())
	return a, nil
}

// Close stops the admin listener (letting requests finish for a few
// seconds), then cancels and waits for running jobs. It is safe on nil and
// more than once.
func (a *masterAdmin) Close() error {
	if a == nil {
		return nil
	}
	err := a.serving.Close()
	if uerr := a.ui.Close(); err == nil {
		err = uerr
	}
	return err
}

// adminBackend adapts the master's Service to the admin UI's Builder and
// Publisher.
type adminBackend struct{ svc *master.Service }

// Build builds host's current content into a release.
func (b *adminBackend) Build(ctx context.Context, host string, progress func(done, total int), note func(line string)) (orchard.Release, error) {
	res, err := b.svc.Build(ctx, host, master.BuildOptions{Progress: progress})
	if err != nil {
		return orchard.Release{}, err
	}
	for _, line := range res.Warnings() {
		note(line)
	}
	return res.Release, nil
}

// Publish publishes the newest release of host.
func (b *adminBackend) Publish(ctx context.Context, host string, progress func(string)) (admin.PublishResult, error) {
	res, err := b.svc.Publish(ctx, host, "", master.Progress{
		Start: func(id string, files, nodes int) {
			progress(fmt.Sprintf("publishing release %s (%d files) to %d nodes", id, files, nodes))
		},
		Event: eventLines(progress),
	})
	if orchard.ErrorCode(err) == orchard.ENOTFOUND && res == nil {
		return admin.PublishResult{}, orchard.Errorf(orchard.ENOTFOUND, "%s has no release yet: press Build cache first.", host)
	}
	return adminResult(res), err
}

// Rollback activates release id of host everywhere.
func (b *adminBackend) Rollback(ctx context.Context, host, id string, progress func(string)) (admin.PublishResult, error) {
	res, err := b.svc.Rollback(ctx, host, id, master.Progress{
		Start: func(id string, _, nodes int) { progress(fmt.Sprintf("activating release %s on %d nodes", id, nodes)) },
		Event: eventLines(progress),
	})
	return adminResult(res), err
}

// Releases lists host's releases and the master's active one.
func (b *adminBackend) Releases(_ context.Context, host string) ([]orchard.Release, string, error) {
	rels, err := b.svc.Releases.Releases(host)
	if err != nil {
		return nil, "", err
	}
	active, err := b.svc.Releases.Active(host)
	return rels, active, err
}

// Nodes asks every node for its status.
func (b *adminBackend) Nodes(ctx context.Context) []admin.NodeInfo {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var out []admin.NodeInfo
	for _, n := range b.svc.Publisher.Status(ctx) {
		ni := admin.NodeInfo{Name: n.Name, Addr: n.Addr, Up: n.Status != nil && !n.Down}
		if n.Err != nil {
			ni.Err = n.Err.Error()
		}
		if s := n.Status; s != nil {
			ni.Version, ni.Uptime, ni.Releases = s.Version, time.Duration(s.Uptime*float64(time.Second)), s.Releases
		}
		out = append(out, ni)
	}
	return out
}

// eventLines turns publish events into progress lines: phase changes, and
// the upload's start and end per node.
func eventLines(progress func(string)) func(publish.Event) {
	var mu sync.Mutex
	return func(e publish.Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Phase == publish.PhaseUpload && e.Done > 0 && e.Done == e.Total {
			progress(fmt.Sprintf("%s: sent %d blobs, %s", e.Node, e.Done, orchard.FormatBytes(e.Bytes)))
		} else if line, ok := phaseLine(e.Node+":", e); ok {
			progress(line)
		}
	}
}

// phaseLine is the progress line, after label (the node's name), of an
// event that changes a node's phase: told what it needs, down or failed,
// staged or activated. ok is false for the upload's progress in between.
func phaseLine(label string, e publish.Event) (line string, ok bool) {
	switch e.Phase {
	case publish.PhaseUpload:
		if e.Done == 0 {
			return fmt.Sprintf("%s needs %d blobs", label, e.Total), true
		}
	case publish.PhaseDown, publish.PhaseFailed:
		return fmt.Sprintf("%s %s: %v", label, e.Phase, e.Err), true
	case publish.PhaseStaged, publish.PhaseActivated:
		return fmt.Sprintf("%s %s", label, e.Phase), true
	}
	return "", false
}

// adminResult converts a publish result for the admin UI.
func adminResult(res *publish.Result) admin.PublishResult {
	if res == nil {
		return admin.PublishResult{}
	}
	out := admin.PublishResult{Release: res.Release}
	for _, n := range res.Nodes {
		nr := admin.NodeResult{Name: n.Name, State: n.State}
		switch {
		case n.State == publish.PhaseDown:
			nr.Note = "down; it will catch up when it is back"
		case n.Err != nil:
			nr.Note = n.Err.Error()
		}
		out.Nodes = append(out.Nodes, nr)
	}
	for _, e := range res.Edge {
		nr := admin.NodeResult{Name: e.Name, State: "serving"}
		switch {
		case e.Err != nil:
			nr.State, nr.Note = "not asked", e.Err.Error()+"; it serves the release after its next health check"
		case !e.Visible(res.Release):
			nr.State, nr.Note = "pending", fmt.Sprintf("still routes the site to release %q", e.Release)
		}
		out.Nodes = append(out.Nodes, nr)
	}
	return out
}
