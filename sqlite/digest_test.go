package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
)

// TestUpgradeDigests opens a database whose site tables are at version 1
// (no digest column): Open adds the column and computes every page's digest.
func TestUpgradeDigests(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orchard.db")
	db := mustOpen(t, path)
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
	for _, q := range []string{
		`DROP INDEX ` + indexName(tablesFor("old.test").pages, "index"),
		`ALTER TABLE ` + tablesFor("old.test").pages + ` DROP COLUMN digest`,
		`UPDATE orchard_sites SET schema = 1`,
	} {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	db = mustOpen(t, path)
	var v int
	if err := db.write.QueryRowContext(ctx, `SELECT schema FROM orchard_sites WHERE host = 'old.test'`).Scan(&v); err != nil || v != siteSchema {
		t.Fatalf("site schema %d (%v), want %d", v, err, siteSchema)
	}
	full, err := db.LoadSite(ctx, "old.test")
	if err != nil {
		t.Fatal(err)
	}
	idx, err := db.LoadSiteIndex(ctx, "old.test")
	if err != nil {
		t.Fatal(err)
	}
	var empty int
	if err := db.write.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+tablesFor("old.test").pages+` WHERE digest = ''`).Scan(&empty); err != nil || empty != 0 {
		t.Errorf("%d pages without a digest after the upgrade (%v)", empty, err)
	}
	for i, p := range full.Pages {
		if idx.Pages[i].Digest != p.ContentDigest() || idx.Pages[i].Body != "" {
			t.Errorf("index page %s: digest %q body %q, want %q and no body", p.Path, idx.Pages[i].Digest, idx.Pages[i].Body, p.ContentDigest())
		}
	}

	// A row whose digest is unknown still gets the right one.
	if _, err := db.write.ExecContext(ctx, `UPDATE `+tablesFor("old.test").pages+` SET digest = ''`); err != nil {
		t.Fatal(err)
	}
	idx, err = db.LoadSiteIndex(ctx, "old.test")
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
