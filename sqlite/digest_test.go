package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
)

// TestUnknownDigest checks that a page row without a digest (as a write
// by something other than PutPage could leave) still reads with the right
// one from LoadSiteIndex and PageBodies. Digests of pages made before the
// digest column are TestUpgradeLegacyTables' (its schema 1 site).
func TestUnknownDigest(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "orchard.db"))
	ctx := t.Context()
	c := &orchard.SiteContent{Site: orchard.Site{Host: "old.test", Title: "Old"},
		Categories: []orchard.Category{{Path: "/news/", Title: "News"}},
		Pages: []orchard.Page{
			{Path: "/news/a/", Category: "/news/", Title: "A", Body: "# a", Published: true, Created: time.Unix(5, 0)},
			{Path: "/b/", Title: "B", Body: "b", Created: time.Unix(6, 7000)},
		}}
	if err := db.ReplaceSite(ctx, c, false); err != nil {
		t.Fatal(err)
	}
	full, err := db.LoadSite(ctx, "old.test")
	if err != nil {
		t.Fatal(err)
	}
	// A row whose digest is unknown still gets the right one.
	if _, err := db.write.ExecContext(ctx, `UPDATE orchard_pages SET digest = ''`); err != nil {
		t.Fatal(err)
	}
	idx, err := db.LoadSiteIndex(ctx, "old.test")
	if err != nil {
		t.Fatal(err)
	}
	bodies, err := db.PageBodies(ctx, "old.test", []string{"/b/", "/news/a/"})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range full.Pages {
		if idx.Pages[i].Digest != p.ContentDigest() || idx.Pages[i].Body != "" {
			t.Errorf("unknown digest, index page %s: %q body %q", p.Path, idx.Pages[i].Digest, idx.Pages[i].Body)
		}
		if b := bodies[p.Path]; b.Digest != p.ContentDigest() || b.Body != p.Body {
			t.Errorf("unknown digest, PageBodies[%s] = %+v", p.Path, b)
		}
	}
}
