package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/orchardhq/orchard/internal/sample"
)

// TestPublishAllBuild runs the two documented flags together: every site is
// built, then published, and each is served by the node.
func TestPublishAllBuild(t *testing.T) {
	ac := startAdminCluster(t)
	cfg := ac.m.cfg.Path
	mustCLI(t, cfg, "", "site", "-s", "second.localhost", "-c")
	mustCLI(t, cfg, "", "page", "-s", "second.localhost", "put", "/hello/", "--title", "Hello second")
	out := mustCLI(t, cfg, "", "publish", "--all", "--build", "-q")
	for _, host := range []string{sample.AlphaHost, "second.localhost"} {
		if !strings.Contains(out, host+" release ") {
			t.Errorf("publish output has no result for %s:\n%s", host, out)
		}
		path := map[string]string{sample.AlphaHost: "/", "second.localhost": "/hello/"}[host]
		if code, _ := fetch(t, "http://"+ac.node.Addr()+path, host); code != http.StatusOK {
			t.Errorf("node serves %s%s with %d, want 200", host, path, code)
		}
	}
}

// TestPublishQuiet checks that -q prints one line per site and nothing on
// stderr, even with --build.
func TestPublishQuiet(t *testing.T) {
	ac := startAdminCluster(t)
	r := runCLI(t, ac.m.cfg.Path, "", "publish", "-s", sample.AlphaHost, "--build", "-q")
	if r.code != 0 {
		t.Fatalf("publish -q: exit %d: %s", r.code, r.err)
	}
	if lines := strings.Split(strings.TrimSpace(r.out), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], sample.AlphaHost+" release ") {
		t.Errorf("publish -q printed %d lines on stdout, want the one result line:\n%s", len(lines), r.out)
	}
	if r.stderr != "" {
		t.Errorf("publish -q wrote to stderr:\n%s", r.stderr)
	}
}
