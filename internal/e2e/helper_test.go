package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/release"
)

// TestHelperGenSite builds a generated site for bench/peers/publish-vs-rsync.sh;
// it runs only when ORCHARD_GENSITE names a directory:
//
//	ORCHARD_GENSITE=DIR PAGES=10000 TOUCH=100 ROUND=2 TEMPLATE=t1 SITE=bench.test
//
// builds the site into the release store DIR/master (incrementally) and
// mirrors it as a flat tree of files in DIR/tree/SITE/..., rewriting only the
// files whose content changed (what the seed's "Build cache" wrote for rsync).
// Pages [0,TOUCH) get version ROUND.
func TestHelperGenSite(t *testing.T) {
	dir := os.Getenv("ORCHARD_GENSITE")
	if dir == "" {
		t.Skip("ORCHARD_GENSITE not set")
	}
	pages := envInt("PAGES", 10000)
	touch, round := envInt("TOUCH", 0), envInt("ROUND", 0)
	host := envStr("SITE", "bench.test")
	g := newGenSite(pages)
	g.template = envStr("TEMPLATE", "t1")
	for i := range touch {
		g.version[i] = round
	}
	st, err := release.OpenStore(filepath.Join(dir, "master"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := (&release.Builder{Store: st, Now: func() time.Time { return time.Now().Add(time.Duration(round) * time.Second) }}).Build(context.Background(), &orchard.Site{Host: host}, g)
	if err != nil {
		t.Fatal(err)
	}
	built := time.Since(start)
	written := 0
	for _, o := range g.Outputs() {
		b, _ := g.Render(o.Path)
		p := filepath.Join(dir, "tree", host, filepath.FromSlash(orchard.ManifestKey(o.Path)))
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, b) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		written++
	}
	fmt.Printf("release %s: %d files, rendered %d, built in %v; tree: %d files written\n",
		res.Manifest.ID(), len(res.Manifest.Files), res.Rendered, built.Round(time.Millisecond), written)
}

// TestHelperNodes serves every node of the cluster file ORCHARD_E2E_NODES (or
// only ORCHARD_E2E_NODE) in this process, wired as orchard node wires them, until SIGTERM; the bench
// script uses it when the orchard binary has no node command yet.
func TestHelperNodes(t *testing.T) {
	file := os.Getenv("ORCHARD_E2E_NODES")
	if file == "" {
		t.Skip("ORCHARD_E2E_NODES not set")
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	only := os.Getenv("ORCHARD_E2E_NODE")
	for _, n := range cfg.Nodes {
		if only == "" || only == n.Name {
			startNodeKey(t, n.Name, n.Data, cfg.Master.Control, n.Listen, n.Control, cfg.Secret)
		}
	}
	fmt.Println("nodes ready")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	<-ctx.Done()
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return def
}

func envStr(k, def string) string {
	if v := strings.TrimSpace(os.Getenv(k)); v != "" {
		return v
	}
	return def
}
