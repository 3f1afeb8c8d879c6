package mysql_test

import (
	"database/sql"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
)

// TestUnknownDigest checks that a page row without a digest (as a write
// by something other than PutPage could leave) still reads with the right
// one from LoadSiteIndex and PageBodies. Pages made before the digest
// column are TestUpgradeLegacyTables' (its Schema3 case).
func TestUnknownDigest(t *testing.T) {
	db, c, name := MustOpenDB(t, false)
	ctx := t.Context()
	in := &orchard.SiteContent{Site: orchard.Site{Host: "old.test", Title: "Old"},
		Categories: []orchard.Category{{Path: "/news/", Title: "News"}},
		Pages: []orchard.Page{
			{Path: "/news/a/", Category: "/news/", Title: "A", Body: "# a", Published: true, Created: time.Unix(5, 0)},
			{Path: "/b/", Title: "B", Body: "b", Created: time.Unix(6, 7000)},
		}}
	if err := db.ReplaceSite(ctx, in, false); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("mysql", c.Primary().DSN("root", "", name))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	full, err := db.LoadSite(ctx, "old.test")
	if err != nil {
		t.Fatal(err)
	}
	var idx *orchard.SiteContent
	// A row whose digest is unknown still gets the right one.
	if _, err := raw.ExecContext(ctx, "UPDATE orchard_pages SET digest = ''"); err != nil {
		t.Fatal(err)
	}
	if idx, err = db.LoadSiteIndex(ctx, "old.test"); err != nil {
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
