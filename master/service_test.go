package master_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/master"
	"github.com/orchardhq/orchard/release"
)

// MustOpenService returns a Service over MustOpenStore's sites and a
// release store in a temp dir whose blobs are garbage as soon as no
// release names them, with a clock the test moves.
func MustOpenService(tb testing.TB, now *time.Time) *master.Service {
	tb.Helper()
	rs, err := release.OpenStore(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rs.Close() })
	rs.Blobs().Grace = 0
	return &master.Service{Store: MustOpenStore(tb), Releases: rs, Clock: func() time.Time { return *now }}
}

// TestBuildEdits: each edit builds into a new release, an unchanged site
// into the same one.
func TestBuildEdits(t *testing.T) {
	now := time.Unix(1.7e9, 0)
	svc := MustOpenService(t, &now)
	first, err := svc.Build(t.Context(), sample.AlphaHost, master.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := svc.Build(t.Context(), sample.AlphaHost, master.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !first.New || again.New || again.Release.ID != first.Release.ID {
		t.Errorf("rebuild of unchanged content: release %s (new %v), first %s (new %v)", again.Release.ID, again.New, first.Release.ID, first.New)
	}
	editAbout(t, svc, "An edit.")
	edited, err := svc.Build(t.Context(), sample.AlphaHost, master.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !edited.New || edited.Release.ID == first.Release.ID {
		t.Errorf("build after an edit: release %s (new %v), same as before", edited.Release.ID, edited.New)
	}
	if _, err := svc.Build(t.Context(), "nosuch.test", master.BuildOptions{}); orchard.ErrorCode(err) != orchard.ENOTFOUND {
		t.Errorf("build of an unknown site: %v, want ENOTFOUND", err)
	}
}

// TestCollect: Collect prunes every site to Keep releases (the newest
// stays) and removes the blobs only pruned releases named (each version's
// page is large and incompressible, so that they count).
func TestCollect(t *testing.T) {
	now := time.Unix(1.7e9, 0)
	svc := MustOpenService(t, &now)
	var ids []string
	for i := range 5 {
		page := make([]byte, 32<<10)
		rand.Read(page)
		editAbout(t, svc, hex.EncodeToString(page))
		res, err := svc.Build(t.Context(), sample.AlphaHost, master.BuildOptions{})
		if err != nil {
			t.Fatalf("build %d: %v", i, err)
		}
		ids = append(ids, res.Release.ID)
	}
	before := dirBytes(t, filepath.Join(svc.Releases.Dir(), "blobs"))
	svc.Keep = 1
	if err := svc.Collect(); err != nil {
		t.Fatal(err)
	}
	rels, err := svc.Releases.Releases(sample.AlphaHost)
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 1 || rels[0].ID != ids[len(ids)-1] {
		t.Errorf("after Collect with Keep 1: releases %v, want only the newest %s", rels, ids[len(ids)-1])
	}
	if after := dirBytes(t, filepath.Join(svc.Releases.Dir(), "blobs")); after >= before {
		t.Errorf("Collect left %d blob bytes of %d", after, before)
	}
}

// TestPublishWithoutNodes: a cluster without nodes cannot publish or roll
// back, and says so.
func TestPublishWithoutNodes(t *testing.T) {
	now := time.Unix(1.7e9, 0)
	svc := MustOpenService(t, &now)
	if _, err := svc.Publish(t.Context(), sample.AlphaHost, "", master.Progress{}); orchard.ErrorCode(err) != orchard.EINVALID {
		t.Errorf("publish without a publisher: %v, want EINVALID", err)
	}
	if _, err := svc.Rollback(t.Context(), sample.AlphaHost, "", master.Progress{}); orchard.ErrorCode(err) != orchard.EINVALID {
		t.Errorf("rollback without a publisher: %v, want EINVALID", err)
	}
}

// editAbout replaces the body of alpha's /about/ page.
func editAbout(t *testing.T, svc *master.Service, body string) {
	t.Helper()
	st := svc.Store.(orchard.Store)
	p, err := st.Page(t.Context(), sample.AlphaHost, "/about/")
	if err != nil {
		t.Fatal(err)
	}
	p.Body = body
	if err := st.PutPage(t.Context(), sample.AlphaHost, p); err != nil {
		t.Fatal(err)
	}
}

// dirBytes sums the sizes of the files under dir.
func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
