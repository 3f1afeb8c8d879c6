package main

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
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

// TestPublishAllReportsEachSite: publish --all prints one line per site in
// the order of the sites and a summary; a site that cannot be published
// (its stored manifest is damaged) is named with why, the others are
// published all the same, and the command fails naming it.
func TestPublishAllReportsEachSite(t *testing.T) {
	ac := startAdminCluster(t)
	cfg := ac.m.cfg.Path
	hosts := []string{"c1.localhost", "c2.localhost", "c3.localhost"}
	for _, h := range hosts {
		mustCLI(t, cfg, "", "site", "-s", h, "-c")
		mustCLI(t, cfg, "", "page", "-s", h, "put", "/hello/", "--title", "Hello "+h)
		mustCLI(t, cfg, "", "build", "-s", h)
	}
	mustCLI(t, cfg, "", "build", "-s", sample.AlphaHost)
	all := []string{sample.AlphaHost, "c1.localhost", "c2.localhost", "c3.localhost"}
	slices.Sort(all)

	r := runCLI(t, cfg, "", "publish", "--all")
	if r.code != 0 {
		t.Fatalf("publish --all: exit %d: %s\n%s", r.code, r.err, r.out)
	}
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
		if host, _, ok := strings.Cut(line, " release "); ok {
			order = append(order, host)
		}
	}
	if !slices.Equal(order, all) {
		t.Errorf("publish --all reported %v, want each site once in order %v:\n%s", order, all, r.out)
	}
	if !strings.Contains(r.out, "published 4 of 4 sites in ") {
		t.Errorf("publish --all printed no summary:\n%s", r.out)
	}
	if !strings.Contains(r.stderr, "published 4/4 sites") {
		t.Errorf("publish --all printed no progress on stderr:\n%s", r.stderr)
	}

	// c2's manifest on the master is damaged after its build.
	mustCLI(t, cfg, "Again.", "page", "-s", "c2.localhost", "put", "/hello/")
	mustCLI(t, cfg, "", "build", "-s", "c2.localhost")
	rels, err := filepath.Glob(filepath.Join(filepath.Dir(cfg), "data", "master", "sites", "c2.localhost", "releases", "*.manifest"))
	if err != nil || len(rels) == 0 {
		t.Fatalf("no manifest of c2 to damage: %v", err)
	}
	for _, p := range rels {
		if err := os.WriteFile(p, []byte("damaged"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r = runCLI(t, cfg, "", "publish", "--all", "-q")
	wantExit(t, r, 1, "c2.localhost")
	if !strings.Contains(r.out, "c2.localhost: not published: ") {
		t.Errorf("publish --all does not say why c2 failed:\n%s", r.out)
	}
	if !strings.Contains(r.out, "published 3 of 4 sites") || !strings.Contains(r.out, "1 failed") {
		t.Errorf("publish --all summary does not count the failure:\n%s", r.out)
	}
	if r.stderr != "" {
		t.Errorf("publish --all -q wrote to stderr:\n%s", r.stderr)
	}
}
