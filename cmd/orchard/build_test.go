package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestBuildCommandIncremental: the second build after a page edit reads
// the index and renders only what changed; --full renders everything and
// gives the same release.
func TestBuildCommandIncremental(t *testing.T) {
	cfg := testCluster(t)
	mustCLI(t, cfg, "", "site", "-s", "example.com", "-c")
	mustCLI(t, cfg, "", "category", "-s", "example.com", "put", "/news/", "--title", "News")
	for _, slug := range []string{"one", "two", "three"} {
		mustCLI(t, cfg, "body of "+slug, "page", "-s", "example.com", "put", slug, "--category", "news", "--title", slug)
	}
	line := regexp.MustCompile(`release ([0-9a-f]{16}) \((new|unchanged)\), \d+ files, \d+ bytes, (\d+) rendered, (\d+) reused`)
	build := func(args ...string) (id string, rendered, reused int) {
		t.Helper()
		out := mustCLI(t, cfg, "", append([]string{"build", "-s", "example.com"}, args...)...)
		m := line.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("build printed %q", out)
		}
		rendered, _ = strconv.Atoi(m[3])
		reused, _ = strconv.Atoi(m[4])
		return m[1], rendered, reused
	}
	if _, _, reused := build(); reused != 0 {
		t.Errorf("first build reused %d", reused)
	}
	mustCLI(t, cfg, "edited body", "page", "-s", "example.com", "put", "/news/two/")
	id, rendered, reused := build()
	if reused == 0 || rendered == 0 || rendered > 5 {
		t.Errorf("build after one edit: %d rendered, %d reused", rendered, reused)
	}
	fullID, _, reused := build("--full")
	if fullID != id || reused != 0 {
		t.Errorf("--full: release %s (%d reused), incremental gave %s", fullID, reused, id)
	}
}

// TestBuildWarnsBrokenLinks: a build reports links to paths the release
// does not serve, and still makes the release.
func TestBuildWarnsBrokenLinks(t *testing.T) {
	cfg := testCluster(t)
	mustCLI(t, cfg, "", "site", "-s", "example.com", "-c", "-i")
	mustCLI(t, cfg, "See [the missing page](/gone/) and ![a picture](/img/none.png), or [home](/).", "page", "-s", "example.com", "put", "/links/", "--title", "Links")
	out := mustCLI(t, cfg, "", "build", "-s", "example.com")
	wantOutput(t, "build output", out, "release ", "warning: 2 links point at nothing", "/links/index.html links to /gone/", "/links/index.html links to /img/none.png")
	mustCLI(t, cfg, "Now [home](/) only.", "page", "-s", "example.com", "put", "/links/")
	if out := mustCLI(t, cfg, "", "build", "-s", "example.com"); strings.Contains(out, "warning") {
		t.Errorf("a build without broken links warns:\n%s", out)
	}
}
