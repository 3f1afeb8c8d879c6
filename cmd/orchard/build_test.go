package main

import (
	"context"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/release"
	"github.com/orchardhq/orchard/sqlite"
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

// editingStore is a store on which the site changes whenever a build
// fetches page bodies, before they are read.
type editingStore struct {
	orchard.Store
	edits atomic.Int32
	max   int32 // how many fetches edit first
	edit  func(ctx context.Context)
}

func (s *editingStore) PageBodies(ctx context.Context, host string, paths []string) (map[string]orchard.PageBody, error) {
	if s.edits.Add(1) <= s.max {
		s.edit(ctx)
	}
	return s.Store.PageBodies(ctx, host, paths)
}

// TestBuildSiteChangedDuringBuild: when a page changes between the index
// and the bodies, the build starts over from a fresh index and gives the
// release of the new content; when it keeps changing, the last attempt
// reads the whole site in one snapshot and builds that.
func TestBuildSiteChangedDuringBuild(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "orchard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := sample.Sites()[0]
	if err := db.ReplaceSite(ctx, c, false); err != nil {
		t.Fatal(err)
	}
	host := c.Site.Host
	rs, err := release.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := buildSite(ctx, io.Discard, db, rs, &config.Config{}, host, false); err != nil {
		t.Fatal(err)
	}
	n := 0
	edit := func(ctx context.Context) {
		n++
		p, err := db.Page(ctx, host, "/about/")
		if err != nil {
			t.Error(err)
			return
		}
		p.Body += "\n\nEdit " + strconv.Itoa(n)
		if err := db.PutPage(ctx, host, p); err != nil {
			t.Error(err)
		}
	}
	edit(ctx) // /about/ is rendered by the next build

	st := &editingStore{Store: db, max: 1, edit: edit}
	res, err := buildFromStore(ctx, st, &release.Builder{Store: rs}, host, nil)
	if err != nil {
		t.Fatalf("build across one edit: %v", err)
	}
	full := &release.Builder{Store: mustReleaseStore(t), Full: true}
	want, err := buildFromStore(ctx, db, full, host, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Release.ID != want.Release.ID || st.edits.Load() != 2 {
		t.Fatalf("build across one edit: release %s after %d fetches, want %s (the edited content) after 2", res.Release.ID, st.edits.Load(), want.Release.ID)
	}

	edit(ctx)
	st = &editingStore{Store: db, max: 1 << 20, edit: edit}
	res, err = buildFromStore(ctx, st, &release.Builder{Store: rs}, host, nil)
	if err != nil {
		t.Fatalf("build across endless edits: %v", err)
	}
	if int(st.edits.Load()) != buildAttempts-1 || res.Reused == 0 {
		t.Fatalf("build across endless edits: %d body fetches (want %d, then a snapshot), %d reused", st.edits.Load(), buildAttempts-1, res.Reused)
	}
	want, err = buildFromStore(ctx, db, &release.Builder{Store: mustReleaseStore(t), Full: true}, host, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Release.ID != want.Release.ID {
		t.Fatalf("build across endless edits: release %s, a full build of the content now gives %s", res.Release.ID, want.Release.ID)
	}
}

func mustReleaseStore(t *testing.T) *release.Store {
	t.Helper()
	rs, err := release.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestBuildWarnsBrokenLinks: a build reports links to paths the release
// does not serve, and still makes the release.
func TestBuildWarnsBrokenLinks(t *testing.T) {
	cfg := testCluster(t)
	mustCLI(t, cfg, "", "site", "-s", "example.com", "-c", "-i")
	mustCLI(t, cfg, "See [the missing page](/gone/) and ![a picture](/img/none.png), or [home](/).", "page", "-s", "example.com", "put", "/links/", "--title", "Links")
	out := mustCLI(t, cfg, "", "build", "-s", "example.com")
	for _, want := range []string{"release ", "warning: 2 links point at nothing", "/links/index.html links to /gone/", "/links/index.html links to /img/none.png"} {
		if !strings.Contains(out, want) {
			t.Errorf("build output lacks %q:\n%s", want, out)
		}
	}
	mustCLI(t, cfg, "Now [home](/) only.", "page", "-s", "example.com", "put", "/links/")
	if out := mustCLI(t, cfg, "", "build", "-s", "example.com"); strings.Contains(out, "warning") {
		t.Errorf("a build without broken links warns:\n%s", out)
	}
}
