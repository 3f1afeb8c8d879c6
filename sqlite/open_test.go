package sqlite

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	orchard "github.com/orchardhq/orchard"
)

func mustOpen(tb testing.TB, path string) *DB {
	tb.Helper()
	db, err := Open(tb.Context(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// TestPragmas checks that every pooled connection, not just the first, has
// the settings from the DSN.
func TestPragmas(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "orchard.db"))
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		pool *sql.DB
		n    int
	}{{"write", db.write, 1}, {"read", db.read, maxReaders}} {
		t.Run(tc.name, func(t *testing.T) {
			// Hold n connections at once so the pool must open n of them.
			conns := make([]*sql.Conn, tc.n)
			for i := range conns {
				c, err := tc.pool.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				conns[i] = c
			}
			for i, c := range conns {
				for _, p := range []struct{ pragma, want string }{
					{"journal_mode", "wal"},
					{"foreign_keys", "1"},
					{"busy_timeout", fmt.Sprint(BusyTimeout.Milliseconds())},
				} {
					var got string
					if err := c.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(&got); err != nil {
						t.Fatal(err)
					}
					if got != p.want {
						t.Errorf("connection %d: %s = %s, want %s", i, p.pragma, got, p.want)
					}
				}
			}
			for _, c := range conns {
				c.Close()
			}
		})
	}
	t.Run("ReadOnly", func(t *testing.T) {
		if _, err := db.read.ExecContext(ctx, `DELETE FROM orchard_sites`); err == nil {
			t.Error("the read pool accepted a write")
		}
	})
}

// TestReopen checks that data and the schema version survive a reopen and
// that migrations are not applied twice.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orchard.db")
	ctx := t.Context()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSite(ctx, &orchard.Site{Host: "example.com"}); err != nil {
		t.Fatal(err)
	}
	// The file holds password hashes: owner only, WAL included.
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	db = mustOpen(t, path)
	if _, err := db.Site(ctx, "example.com"); err != nil {
		t.Errorf("site lost across reopen: %v", err)
	}
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM orchard_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(migrations) {
		t.Errorf("%d migrations recorded, want %d", n, len(migrations))
	}
}

// TestNewerSchema refuses a database written by a newer orchard.
func TestNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orchard.db")
	db := mustOpen(t, path)
	if _, err := db.write.ExecContext(t.Context(), `INSERT INTO orchard_migrations (version, name, applied) VALUES (999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err := Open(t.Context(), path); err == nil {
		db.Close()
		t.Fatal("Open accepted a schema from the future")
	}
}

func TestOpenBadPath(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"", ":memory:", "file:x.db", filepath.Join(dir, "x.db?_pragma=foo"), filepath.Join(dir, "missing", "x.db")} {
		if db, err := Open(t.Context(), p); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

// TestConcurrentProcesses writes from two handles on one file at once, as
// the master and a CLI command do; the busy timeout makes them take turns.
func TestConcurrentProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orchard.db")
	a, b := mustOpen(t, path), mustOpen(t, path)
	ctx := t.Context()
	if err := a.CreateSite(ctx, &orchard.Site{Host: "example.com"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w, db := range []*DB{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				p := &orchard.Page{Path: fmt.Sprintf("/w%d-%d/", w, i), Title: "x", Body: "y"}
				if err := db.PutPage(ctx, "example.com", p); err != nil {
					errs <- err
					return
				}
				if _, err := db.Page(ctx, "example.com", p.Path); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	pages, err := b.Pages(ctx, "example.com", orchard.PageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 80 {
		t.Errorf("%d pages, want 80", len(pages))
	}
}

// TestSchemaFlat checks that creating sites adds no schema objects (the
// per-site tables that made every open slower, issue 23) and that
// dropping a site leaves none of its rows in the shared tables.
func TestSchemaFlat(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "orchard.db"))
	ctx := t.Context()
	count := func(q string) int {
		t.Helper()
		var n int
		if err := db.read.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const objects = `SELECT COUNT(*) FROM sqlite_master`
	before := count(objects)
	for _, h := range []string{"a-b.example", "a.b.example"} {
		c := &orchard.SiteContent{Site: orchard.Site{Host: h},
			Categories: []orchard.Category{{Path: "/news/", Title: "N"}},
			Pages:      []orchard.Page{{Path: "/news/x/", Category: "/news/", Title: "X"}},
			Assets:     []orchard.Asset{{Path: "/a.css", ContentType: "text/css", Data: []byte("x")}},
			Templates:  []orchard.Template{{Name: "layouts/post.html", Body: "x"}}}
		if err := db.ReplaceSite(ctx, c, false); err != nil {
			t.Fatal(err)
		}
	}
	if after := count(objects); after != before {
		t.Errorf("%d schema objects after creating two sites, %d before", after, before)
	}
	if err := db.DropSite(ctx, "a-b.example"); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"orchard_categories", "orchard_pages", "orchard_assets", "orchard_templates"} {
		if n := count(`SELECT COUNT(*) FROM ` + table); n != 1 {
			t.Errorf("%s has %d rows after dropping one of two sites, want 1 (the other's)", table, n)
		}
	}
}

// TestQueryPlans checks that the reads of one site search the shared
// tables' indexes by site rather than scan them, that LoadSiteIndex's
// page query reads the covering index alone, and that Open's look for
// legacy sites reads only the (then empty) partial index.
func TestQueryPlans(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "orchard.db"))
	ctx := t.Context()
	for _, tc := range []struct {
		query, want string
	}{
		{`SELECT ` + indexColumns + ` FROM orchard_pages WHERE ` + siteIs + ` ORDER BY path`, "USING COVERING INDEX orchard_pages_index"},
		{`SELECT ` + pageColumns + ` FROM orchard_pages WHERE ` + siteIs + ` AND path = ?`, "USING INDEX sqlite_autoindex_orchard_pages_1"},
		{`SELECT ` + categoryColumns + ` FROM orchard_categories WHERE ` + siteIs + ` ORDER BY path`, "USING INDEX sqlite_autoindex_orchard_categories_1"},
		{`SELECT path, content_type, updated FROM orchard_assets WHERE ` + siteIs + ` ORDER BY path`, "USING INDEX sqlite_autoindex_orchard_assets_1"},
		{legacySitesQuery, "USING INDEX orchard_sites_legacy"},
	} {
		args := []any{"x", "y"}[:strings.Count(tc.query, "?")]
		rows, err := db.read.QueryContext(ctx, `EXPLAIN QUERY PLAN `+tc.query, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		s := fmt.Sprint(plan)
		if !strings.Contains(s, tc.want) {
			t.Errorf("plan of %s\n is %s\nwant %s", tc.query, s, tc.want)
		}
		for _, step := range plan {
			// A scan of a (partial) index is fine; of a table it is not.
			if strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, " USING ") {
				t.Errorf("plan of %s scans a table: %s", tc.query, s)
			}
		}
	}
	if want := fmt.Sprintf("schema < %d", siteSchema); !strings.Contains(legacySitesQuery, want) {
		t.Errorf("legacySitesQuery %q does not select %q: update it and orchard_sites_legacy", legacySitesQuery, want)
	}
}
