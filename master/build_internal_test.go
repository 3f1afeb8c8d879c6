package master

import (
	"context"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/release"
	"github.com/orchardhq/orchard/sqlite"
)

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
	if _, err := (&Service{Store: db, Releases: rs}).Build(ctx, host, BuildOptions{}); err != nil {
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
