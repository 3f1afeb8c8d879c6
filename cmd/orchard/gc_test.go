package main

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/master"
)

// TestAdminPublishCollectsLikeCLI: many publishes from the admin UI leave
// the master's release store no larger than the same publishes from the
// CLI: the admin path prunes old releases and garbage-collects their blobs
// by the same rule. Each edit adds a large, incompressible page, so blobs
// of pruned releases left behind dominate the store's size.
func TestAdminPublishCollectsLikeCLI(t *testing.T) {
	const publishes = 8
	host := sample.AlphaHost
	cli := startAdminClusterWith(t, "keep_releases = 2")
	adm := startAdminClusterWith(t, "keep_releases = 2")
	for _, ac := range []*adminCluster{cli, adm} {
		// Blobs become garbage as soon as no manifest names them.
		ac.m.releases.Blobs().Grace = 0
	}
	for range publishes {
		body := make([]byte, 64<<10)
		rand.Read(body)
		page := "Version " + hex.EncodeToString(body)
		for _, ac := range []*adminCluster{cli, adm} {
			mustCLI(t, ac.m.cfg.Path, page, "page", "-s", host, "put", "/about/")
		}
		publishViaCLI(t, cli, host)
		publishViaAdmin(t, adm, host)

	}
	cliBytes, admBytes := blobBytes(t, cli), blobBytes(t, adm)
	t.Logf("blob bytes after %d publishes: CLI %d, admin UI %d", publishes, cliBytes, admBytes)
	// The two clusters render their own dates (when each page was put),
	// so their gzip copies may differ by a few bytes: allow 2 %. Without
	// the admin path's GC it kept over three times the CLI's bytes.
	if admBytes > cliBytes+cliBytes/50 {
		t.Errorf("after %d publishes the admin UI path leaves %d blob bytes on the master, the CLI path %d", publishes, admBytes, cliBytes)
	}
	// Not vacuous: the CLI path did collect (each page version is 128 KiB
	// of hex before its gzip copy; all of them kept would take more).
	if cliBytes > publishes*128<<10 {
		t.Errorf("the CLI path kept %d blob bytes: nothing was collected", cliBytes)
	}
}

// publishViaCLI does what `orchard publish -s HOST --build --gc` does, on
// the master's own release store.
func publishViaCLI(t *testing.T, ac *adminCluster, host string) {
	t.Helper()
	ctx := t.Context()
	cfg, rs := ac.m.cfg, ac.m.releases
	if err := buildSite(ctx, io.Discard, ac.m.store, rs, cfg, host, false); err != nil {
		t.Fatal(err)
	}
	svc := newService(cfg, nil, rs, slog.New(slog.DiscardHandler))
	res, err := svc.Publish(ctx, host, "", master.Progress{})
	if err != nil || !res.OK() {
		t.Fatalf("publish: %v", err)
	}
	if err := svc.Collect(); err != nil {
		t.Fatal(err)
	}
}

// publishViaAdmin does what the admin UI's Build cache and Publish buttons
// do, each publish a GC period after the one before.
func publishViaAdmin(t *testing.T, ac *adminCluster, host string) {
	t.Helper()
	ctx := t.Context()
	if ac.m.svc.Clock == nil {
		now := time.Now()
		ac.m.svc.Clock = func() time.Time {
			now = now.Add(master.DefaultGCEvery)
			return now
		}
	}
	be := &adminBackend{svc: ac.m.svc}
	if _, err := be.Build(ctx, host, nil, func(string) {}); err != nil {
		t.Fatal(err)
	}
	res, err := be.Publish(ctx, host, func(string) {})
	if err != nil || len(res.Nodes) == 0 || res.Nodes[0].State != "activated" {
		t.Fatalf("publish: %+v, %v", res, err)
	}
}

// blobBytes sums the sizes of the files of the master's blob store.
func blobBytes(t *testing.T, ac *adminCluster) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(filepath.Join(ac.m.cfg.Master.Data, "blobs"), func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAdminRollbackAsksCLI: a rollback from the admin UI marks the site
// rolled back as one from the CLI does, so that a later `orchard publish`
// of the newer release asks first; once the admin UI has published it
// again, the CLI asks nothing.
func TestAdminRollbackAsksCLI(t *testing.T) {
	ac := startAdminCluster(t)
	cfg, host := ac.m.cfg.Path, sample.AlphaHost
	mustCLI(t, cfg, "", "publish", "-s", host, "--build", "-q")
	first, err := ac.m.releases.Active(host)
	if err != nil {
		t.Fatal(err)
	}
	mustCLI(t, cfg, "Second version.", "page", "-s", host, "put", "/about/")
	mustCLI(t, cfg, "", "publish", "-s", host, "--build", "-q")
	be := &adminBackend{svc: ac.m.svc}
	if _, err := be.Rollback(t.Context(), host, first, func(string) {}); err != nil {
		t.Fatal(err)
	}
	wantExit(t, runCLI(t, cfg, "", "publish", "-s", host), 2, "undoes that rollback")

	if _, err := be.Publish(t.Context(), host, func(string) {}); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, cfg, "", "publish", "-s", host, "-q"); r.code != 0 {
		t.Errorf("publish after the admin UI undid the rollback: exit %d %s", r.code, r.err)
	}
}
