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

// TestPublishAfterRollback: a publish that would undo a rollback says so
// and needs --yes without a terminal; republishing the rolled-back-to
// release, or publishing after the undo, asks nothing.
func TestPublishAfterRollback(t *testing.T) {
	ac := startAdminCluster(t)
	cfg := ac.m.cfg.Path
	host := sample.AlphaHost
	mustCLI(t, cfg, "", "publish", "-s", host, "--build", "-q")
	mustCLI(t, cfg, "Second version.", "page", "-s", host, "put", "/about/")
	mustCLI(t, cfg, "", "publish", "-s", host, "--build", "-q")
	mustCLI(t, cfg, "", "rollback", "-s", host, "-q")
	_, body := fetch(t, "http://"+ac.node.Addr()+"/about/", host)
	if strings.Contains(body, "Second version.") {
		t.Fatal("rollback did not take the node back")
	}

	r := runCLI(t, cfg, "", "publish", "-s", host)
	wantExit(t, r, 2, "undoes that rollback")
	wantExit(t, r, 2, "--yes")
	if _, body := fetch(t, "http://"+ac.node.Addr()+"/about/", host); strings.Contains(body, "Second version.") {
		t.Fatal("a refused publish undid the rollback")
	}
	r = runCLI(t, cfg, "", "publish", "-s", host, "--yes")
	if r.code != 0 || !strings.Contains(r.stderr, "undoes that rollback") {
		t.Fatalf("publish --yes: exit %d %s\n%s", r.code, r.err, r.stderr)
	}
	if _, body := fetch(t, "http://"+ac.node.Addr()+"/about/", host); !strings.Contains(body, "Second version.") {
		t.Fatal("publish --yes did not undo the rollback")
	}
	// Done: the next publish asks nothing.
	mustCLI(t, cfg, "Third version.", "page", "-s", host, "put", "/about/")
	mustCLI(t, cfg, "", "publish", "-s", host, "--build", "-q")
}
