package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/render"
	"github.com/orchardhq/orchard/sqlite"
)

// TestOpenMaster starts the master from a cluster file on loopback ports,
// fetches a sample page by Host header and closes it twice.
func TestOpenMaster(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "orchard.toml")
	err := os.WriteFile(cfgFile, []byte(`
[database]
driver = "sqlite"
path = "data/orchard.db"
[master]
listen = "127.0.0.1:0"
control = "127.0.0.1:0"
data = "data/master"
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Database.Path), 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(t.Context(), cfg.Database.Path)
	if err != nil {
		t.Fatal(err)
	}
	c := sample.Sites()[0]
	c.Templates, c.Assets = render.DefaultTemplates(), render.DefaultTheme()
	if err := db.ReplaceSite(t.Context(), c, false); err != nil {
		t.Fatal(err)
	}
	db.Close()

	m, err := openMaster(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	req, _ := http.NewRequest("GET", "http://"+m.SiteAddr()+"/news/", nil)
	req.Host = sample.AlphaHost
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get(orchard.ReleaseHeader) != "dynamic" || !strings.Contains(string(b), "Bees are back") {
		t.Fatalf("GET /news/: %d %q\n%.300s", resp.StatusCode, resp.Header.Get(orchard.ReleaseHeader), b)
	}
	if m.control == nil || m.control.Addr() == "" {
		t.Error("control listener not started")
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestOpenMasterBusyPort checks that a failed step closes what earlier steps
// opened and reports the listener.
func TestOpenMasterBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "orchard.toml")
	if err := os.WriteFile(cfgFile, []byte("[database]\npath = \"orchard.db\"\n[master]\nlisten = \""+ln.Addr().String()+"\"\ndata = \"m\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openMaster(t.Context(), cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "site listener") {
		t.Fatalf("openMaster on a busy port: %v", err)
	}
}
