package release_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/release"
	"github.com/orchardhq/orchard/render"
	"github.com/orchardhq/orchard/sqlite"
)

// renderer adapts *render.Renderer to release.Renderer, as cmd/orchard does.
type renderer struct{ r *render.Renderer }

func (a renderer) Outputs() []release.Output {
	outs := a.r.Outputs()
	res := make([]release.Output, len(outs))
	for i, o := range outs {
		res[i] = release.Output{Path: o.Path, ContentType: o.ContentType, Deps: o.Deps}
	}
	return res
}
func (a renderer) Render(p string) ([]byte, error) { return a.r.Render(p) }
func (a renderer) Inputs() map[string]string       { return a.r.Inputs() }

func newRenderer(t *testing.T, c *orchard.SiteContent) renderer {
	t.Helper()
	r, err := render.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return renderer{r}
}

// TestBuild_AgreesWithRender: every file of a built release is
// byte-for-byte what the renderer (the master's dynamic handler) serves.
func TestBuild_AgreesWithRender(t *testing.T) {
	for _, c := range sample.Sites() {
		t.Run(c.Site.Host, func(t *testing.T) {
			st := mustOpenStore(t)
			r := newRenderer(t, c)
			res, err := (&release.Builder{Store: st}).Build(context.Background(), &c.Site, r)
			if err != nil {
				t.Fatal(err)
			}
			outs := r.Outputs()
			if len(outs) == 0 || len(res.Manifest.Files) != len(outs)+1 {
				t.Fatalf("%d outputs, %d manifest files", len(outs), len(res.Manifest.Files))
			}
			for _, o := range outs {
				want, err := r.Render(o.Path)
				if err != nil {
					t.Fatal(err)
				}
				e := res.Manifest.Files[orchard.ManifestKey(o.Path)]
				got, err := st.Blobs().Get(e.SHA256)
				if err != nil || !bytes.Equal(got, want) || e.ContentType != o.ContentType {
					t.Fatalf("%s: release has %d bytes (%s), render gives %d (%s); err %v", o.Path, len(got), e.ContentType, len(want), o.ContentType, err)
				}
			}
		})
	}
}

// lazyRenderer is renderer for a site read by LoadSiteIndex, with the
// Prepare step, as cmd/orchard builds incrementally.
type lazyRenderer struct{ renderer }

func (a lazyRenderer) Prepare(ctx context.Context, paths []string) error {
	return a.r.Prepare(ctx, paths)
}

// newLazyRenderer reads host's index from db and renders it with bodies
// fetched from db.
func newLazyRenderer(t *testing.T, db orchard.Store, host string) (*orchard.SiteContent, lazyRenderer) {
	t.Helper()
	c, err := db.LoadSiteIndex(t.Context(), host)
	if err != nil {
		t.Fatal(err)
	}
	r, err := render.NewLazy(c, func(ctx context.Context, paths []string) (map[string]orchard.PageBody, error) {
		return db.PageBodies(ctx, host, paths)
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, lazyRenderer{renderer{r}}
}

// fullBuild builds host from a full LoadSite into a fresh store.
func fullBuild(t *testing.T, db orchard.Store, host string) (*release.Result, renderer) {
	t.Helper()
	c, err := db.LoadSite(t.Context(), host)
	if err != nil {
		t.Fatal(err)
	}
	r := newRenderer(t, c)
	res, err := (&release.Builder{Store: mustOpenStore(t), Full: true}).Build(context.Background(), &c.Site, r)
	if err != nil {
		t.Fatal(err)
	}
	return res, r
}

// openSQLiteSite opens an SQLite store in a temporary directory holding
// c, and closes it when the test ends.
func openSQLiteSite(t *testing.T, c *orchard.SiteContent) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "orchard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.ReplaceSite(t.Context(), c, false); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestBuild_RenderIncrementalEqualsFull edits a sample site in a real SQLite
// store at random (page bodies, titles and publication, new and deleted
// pages, categories' titles, templates, site settings) and checks that each
// incremental build, from the site's index with only the bodies it renders
// fetched, is byte-identical to a full build from LoadSite, and renders
// less.
func TestBuild_RenderIncrementalEqualsFull(t *testing.T) {
	ctx := t.Context()
	c := sample.Sites()[0]
	c.Templates = render.DefaultTemplates()
	db := openSQLiteSite(t, c)
	host := c.Site.Host
	st := mustOpenStore(t)
	inc := &release.Builder{Store: st}
	if _, err := inc.Build(ctx, &c.Site, newRenderer(t, c)); err != nil { // the first build is a full one
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	reused := 0
	pick := func() *orchard.Page {
		ps, err := db.Pages(ctx, host, orchard.PageFilter{})
		if err != nil || len(ps) == 0 {
			t.Fatal(err)
		}
		p := ps[rng.IntN(len(ps))]
		p.Updated = time.Time{}
		return p
	}
	for step := 0; step < 24; step++ {
		var err error
		switch rng.IntN(8) {
		case 0, 1:
			p := pick()
			p.Body += fmt.Sprintf("\n\nEdit %d.", step)
			err = db.PutPage(ctx, host, p)
		case 2:
			p := pick()
			p.Title = fmt.Sprintf("Retitled %d", step)
			err = db.PutPage(ctx, host, p)
		case 3:
			p := pick()
			p.Published = !p.Published
			err = db.PutPage(ctx, host, p)
		case 4:
			cs, _ := db.Categories(ctx, host)
			cat := cs[rng.IntN(len(cs))]
			cat.Title = fmt.Sprintf("Category %d", step)
			err = db.PutCategory(ctx, host, cat)
		case 5:
			s, _ := db.Site(ctx, host)
			s.Title = fmt.Sprintf("Site %d", step)
			err = db.UpdateSite(ctx, s)
		case 6:
			if rng.IntN(2) == 0 {
				err = db.PutPage(ctx, host, &orchard.Page{Path: fmt.Sprintf("/news/new-%d/", step), Category: "/news/",
					Title: fmt.Sprintf("New %d", step), Body: "Fresh.", Published: true})
			} else if p := pick(); p.Path != "/" {
				err = db.DeletePage(ctx, host, p.Path)
			}
		case 7:
			tm, terr := db.Template(ctx, host, "partials/footer.html")
			if terr != nil {
				t.Fatal(terr)
			}
			tm.Body += fmt.Sprintf("<!-- %d -->", step)
			err = db.PutTemplate(ctx, host, tm)
		}
		if err != nil {
			t.Fatalf("step %d: edit: %v", step, err)
		}
		want, full := fullBuild(t, db, host)
		idx, lazy := newLazyRenderer(t, db, host)
		if !maps.Equal(lazy.Inputs(), full.Inputs()) {
			t.Fatalf("step %d: the index's inputs differ from LoadSite's", step)
		}
		got, err := inc.Build(ctx, &idx.Site, lazy)
		if err != nil {
			t.Fatal(err)
		}
		if got.Release.ID != want.Release.ID {
			for k, we := range want.Manifest.Files {
				if got.Manifest.Files[k] != we {
					t.Errorf("step %d: %s differs", step, k)
				}
			}
			t.Fatalf("step %d: incremental %s != full %s (rendered %d, reused %d)", step, got.Release.ID, want.Release.ID, got.Rendered, got.Reused)
		}
		reused += got.Reused
	}
	if reused == 0 {
		t.Error("no build reused anything")
	}
}

// TestBuild_SiteChangedDuringBuild: a page edited after the site's index was
// read and before its body is fetched fails the build with ECONFLICT and
// leaves no release; a build from a fresh index then gives exactly the
// full build of the new content. A page edited in between that the build
// does not render leaves the release of the index's snapshot.
func TestBuild_SiteChangedDuringBuild(t *testing.T) {
	ctx := t.Context()
	c := sample.Sites()[0]
	db := openSQLiteSite(t, c)
	host := c.Site.Host
	st := mustOpenStore(t)
	b := &release.Builder{Store: st}
	first, err := b.Build(ctx, &c.Site, newRenderer(t, c))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(path, text string) {
		t.Helper()
		p, err := db.Page(ctx, host, path)
		if err != nil {
			t.Fatal(err)
		}
		p.Body += text
		if err := db.PutPage(ctx, host, p); err != nil {
			t.Fatal(err)
		}
	}

	edit("/about/", "\n\nOne.")
	idx, lazy := newLazyRenderer(t, db, host)
	edit("/about/", "\n\nTwo.") // after the index, before the body
	_, err = b.Build(ctx, &idx.Site, lazy)
	if orchard.ErrorCode(err) != orchard.ECONFLICT {
		t.Fatalf("build across an edit: %v, want ECONFLICT", err)
	}
	if rels, err := st.Releases(host); err != nil || len(rels) != 1 || rels[0].ID != first.Release.ID {
		t.Fatalf("after the failed build: releases %+v, %v; want only %s", rels, err, first.Release.ID)
	}
	if id, err := st.Latest(host); err != nil || id != first.Release.ID {
		t.Fatalf("latest %s, %v; want %s", id, err, first.Release.ID)
	}
	idx, lazy = newLazyRenderer(t, db, host)
	got, err := b.Build(ctx, &idx.Site, lazy)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := fullBuild(t, db, host)
	if got.Release.ID != want.Release.ID {
		t.Fatalf("rebuild: %s, full build %s", got.Release.ID, want.Release.ID)
	}

	// An edit the build does not render: the release is the index's.
	edit("/contact/", "\n\nThree.")
	idx, lazy = newLazyRenderer(t, db, host)
	snapshot, _ := fullBuild(t, db, host)
	edit("/about/", "\n\nFour.")
	got, err = b.Build(ctx, &idx.Site, lazy)
	if err != nil {
		t.Fatal(err)
	}
	if got.Release.ID != snapshot.Release.ID || got.Rendered != 1 {
		t.Fatalf("build with an unrendered page edited meanwhile: %s (%d rendered), want the snapshot's %s and 1 rendered",
			got.Release.ID, got.Rendered, snapshot.Release.ID)
	}
}
