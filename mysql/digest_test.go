package mysql_test

import (
	"database/sql"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/mysql"
)

// TestMigratePageDigests opens a database whose site tables predate page
// digests (no digest column, migration 4 not applied): Open adds the
// column and computes every page's digest.
func TestMigratePageDigests(t *testing.T) {
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
	db.Close()
	raw, err := sql.Open("mysql", c.Primary().DSN("root", "", name))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{
		"ALTER TABLE `" + orchard.TablePrefix("old.test") + "_pages` DROP COLUMN digest",
		"DELETE FROM orchard_migrations WHERE version >= 4",
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	db, err = mysql.Open(ctx, c.Primary().DSN("root", "", name), nil, mysql.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	full, err := db.LoadSite(ctx, "old.test")
	if err != nil {
		t.Fatal(err)
	}
	idx, err := db.LoadSiteIndex(ctx, "old.test")
	if err != nil {
		t.Fatal(err)
	}
	var empty int
	if err := raw.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+orchard.TablePrefix("old.test")+"_pages` WHERE digest = ''").Scan(&empty); err != nil || empty != 0 {
		t.Errorf("%d pages without a digest after the migration (%v)", empty, err)
	}
	if len(idx.Pages) != len(full.Pages) {
		t.Fatalf("index has %d pages, LoadSite %d", len(idx.Pages), len(full.Pages))
	}
	for i, p := range full.Pages {
		if idx.Pages[i].Digest != p.ContentDigest() || idx.Pages[i].Body != "" {
			t.Errorf("index page %s: digest %q body %q, want %q and no body", p.Path, idx.Pages[i].Digest, idx.Pages[i].Body, p.ContentDigest())
		}
	}

	// A row whose digest is unknown still gets the right one.
	if _, err := raw.ExecContext(ctx, "UPDATE `"+orchard.TablePrefix("old.test")+"_pages` SET digest = ''"); err != nil {
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
