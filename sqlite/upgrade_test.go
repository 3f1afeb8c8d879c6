package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlrows"
	"github.com/orchardhq/orchard/internal/storetest"
)

// legacySiteDDL is the DDL of one site's own tables as orchard made them
// before the shared content tables (site schema 3; copied from the old
// createSiteTables, prefix "P"). legacyPagesV1 is the pages table of
// schema 1, before the digest column.
const legacySiteDDL = `
CREATE TABLE "P_categories" (
	path        TEXT PRIMARY KEY,
	parent      TEXT REFERENCES "P_categories"(path),
	title       TEXT NOT NULL,
	description TEXT NOT NULL,
	sort        INTEGER NOT NULL,
	created     INTEGER NOT NULL,
	updated     INTEGER NOT NULL
);
CREATE TABLE "P_pages" (
	path        TEXT PRIMARY KEY,
	category    TEXT REFERENCES "P_categories"(path),
	title       TEXT NOT NULL,
	layout      TEXT NOT NULL,
	format      TEXT NOT NULL,
	description TEXT NOT NULL,
	published   INTEGER NOT NULL,
	created     INTEGER NOT NULL,
	updated     INTEGER NOT NULL,
	digest      TEXT NOT NULL DEFAULT '',
	body        TEXT NOT NULL
);
CREATE INDEX "P_pages_category" ON "P_pages"(category);
CREATE INDEX IF NOT EXISTS "P_pages_index" ON "P_pages"(path, category, title, layout, format, description, published, created, updated, digest);
CREATE TABLE "P_assets" (
	path         TEXT PRIMARY KEY,
	content_type TEXT NOT NULL,
	data         BLOB NOT NULL,
	updated      INTEGER NOT NULL
);
CREATE TABLE "P_templates" (
	name    TEXT PRIMARY KEY,
	body    TEXT NOT NULL,
	updated INTEGER NOT NULL
);`

const legacyPagesV1 = `
CREATE TABLE "P_pages" (
	path        TEXT PRIMARY KEY,
	category    TEXT REFERENCES "P_categories"(path),
	title       TEXT NOT NULL,
	layout      TEXT NOT NULL,
	format      TEXT NOT NULL,
	body        TEXT NOT NULL,
	description TEXT NOT NULL,
	published   INTEGER NOT NULL,
	created     INTEGER NOT NULL,
	updated     INTEGER NOT NULL
);
CREATE INDEX "P_pages_category" ON "P_pages"(category);`

// legacySite is one site of a legacy fixture: its content, its site
// schema (1 or 3) and its content version.
type legacySite struct {
	c       orchard.SiteContent
	schema  int
	version int64
}

// legacyFixture returns the sites of the upgrade tests: two hosts that
// differ only in '-' and '.', with the same paths holding different
// content, and a site of schema 1 (pages without digests).
func legacyFixture() []legacySite {
	site := func(host string, n int) legacySite {
		k := storetest.KeptSite(host, n)
		return legacySite{c: k.Content, schema: 3, version: k.Version}
	}
	old := site("old.example", 3)
	old.schema = 1
	old.c.Site.Aliases, old.c.Site.Redirects = nil, nil
	return []legacySite{site("a-b.example", 1), site("a.b.example", 2), old}
}

// newLegacyDB writes legacyFixture into a legacy database (makeLegacyDB)
// in a temporary directory and returns its path and sites.
func newLegacyDB(t *testing.T) (string, []legacySite) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "orchard.db")
	sites := legacyFixture()
	makeLegacyDB(t, path, sites)
	return path, sites
}

// makeLegacyDB writes, with plain SQL, a database as orchard made it
// before the shared content tables: the registry of migrations 1 to 3
// (unchanged since: migrations are never edited) and each site's own
// tables with its rows.
func makeLegacyDB(t *testing.T, path string, sites []legacySite) {
	t.Helper()
	ctx := t.Context()
	raw, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE orchard_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL)`)
	for i, m := range migrations[:3] {
		exec(m.sql)
		exec(`INSERT INTO orchard_migrations (version, name, applied) VALUES (?, ?, 0)`, i+1, m.name)
	}
	exec(`INSERT INTO orchard_users (site, name, password_hash, created) VALUES ('', 'admin', 'h', 0)`)
	for _, ls := range sites {
		s := ls.c.Site
		p := s.Prefix
		ddl := legacySiteDDL
		if ls.schema < 2 {
			// The same tables with the pages table of schema 1.
			pages := strings.Index(ddl, `CREATE TABLE "P_pages"`)
			ddl = ddl[:pages] + ddl[strings.Index(ddl, `CREATE TABLE "P_assets"`):] + legacyPagesV1
		}
		exec(strings.ReplaceAll(ddl, `"P_`, `"`+p+`_`))
		exec(`INSERT INTO orchard_sites (host, prefix, title, description, scheme, cache_control, feed_size, schema, created, updated, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.Host, p, s.Title, s.Description, s.Scheme, s.CacheControl, s.FeedSize,
			ls.schema, timeToDB(s.Created), timeToDB(s.Updated), ls.version)
		for pos, name := range append([]string{s.Host}, s.Aliases...) {
			exec(`INSERT INTO orchard_hosts (name, site, pos) VALUES (?, ?, ?)`, name, s.Host, pos)
		}
		for _, r := range s.Redirects {
			exec(`INSERT INTO orchard_redirects (site, from_path, to_url) VALUES (?, ?, ?)`, s.Host, r.From, r.To)
		}
		for _, c := range ls.c.Categories {
			exec(`INSERT INTO "`+p+`_categories" (path, parent, title, description, sort, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				c.Path, nullString(c.Parent()), c.Title, c.Description, c.Sort, timeToDB(c.Created), timeToDB(c.Updated))
		}
		for _, pg := range ls.c.Pages {
			if ls.schema < 2 {
				exec(`INSERT INTO "`+p+`_pages" (path, category, title, layout, format, body, description, published, created, updated)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, pg.Path, nullString(pg.Category), pg.Title, pg.Layout, pg.Format, pg.Body,
					pg.Description, pg.Published, timeToDB(pg.Created), timeToDB(pg.Updated))
				continue
			}
			exec(`INSERT INTO "`+p+`_pages" (path, category, title, layout, format, body, description, published, created, updated, digest)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, pg.Path, nullString(pg.Category), pg.Title, pg.Layout, pg.Format, pg.Body,
				pg.Description, pg.Published, timeToDB(pg.Created), timeToDB(pg.Updated), pg.ContentDigest())
		}
		for _, a := range ls.c.Assets {
			exec(`INSERT INTO "`+p+`_assets" (path, content_type, data, updated) VALUES (?, ?, ?, ?)`, a.Path, a.ContentType, a.Data, timeToDB(a.Updated))
		}
		for _, tm := range ls.c.Templates {
			exec(`INSERT INTO "`+p+`_templates" (name, body, updated) VALUES (?, ?, ?)`, tm.Name, tm.Body, timeToDB(tm.Updated))
		}
		for _, u := range ls.c.Users {
			exec(`INSERT INTO orchard_users (site, name, password_hash, created) VALUES (?, ?, ?, ?)`, u.Site, u.Name, u.PasswordHash, timeToDB(u.Created))
		}
	}
}

// wantMoved checks that db holds exactly the fixture's sites, each read
// back whole through the Store API, and no legacy tables or extra rows.
func wantMoved(t *testing.T, db *DB, sites []legacySite) {
	t.Helper()
	kept := make([]storetest.Kept, len(sites))
	for i, ls := range sites {
		kept[i] = storetest.Kept{Content: ls.c, Version: ls.version}
	}
	storetest.CheckKept(t, db, kept, func(table string) (n int, err error) {
		err = db.read.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM `+table).Scan(&n)
		return n, err
	})
	ctx := t.Context()
	var legacy, empty int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 's\_%' ESCAPE '\'`).Scan(&legacy); err != nil || legacy != 0 {
		t.Errorf("%d legacy tables or indexes left (%v)", legacy, err)
	}
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM orchard_pages WHERE digest = ''`).Scan(&empty); err != nil || empty != 0 {
		t.Errorf("%d pages without a digest after the upgrade (%v)", empty, err)
	}
}

// TestUpgradeLegacyTables opens a database made with per-site tables: Open
// moves every site's content into the shared tables and loses nothing, a
// second Open changes nothing, and new writes work on the moved sites.
func TestUpgradeLegacyTables(t *testing.T) {
	path, sites := newLegacyDB(t)
	ctx := t.Context()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	wantMoved(t, db, sites)
	db.Close()

	db = mustOpen(t, path) // idempotent
	wantMoved(t, db, sites)

	storetest.CheckMovedSites(t, db)
	// new.example got an id no site ever had, even after the site with
	// the highest id (old.example, 3) was dropped.
	var id int64
	if err := db.read.QueryRowContext(ctx, `SELECT id FROM orchard_sites WHERE host = 'new.example'`).Scan(&id); err != nil || id != 4 {
		t.Errorf("new site's id %d (%v), want 4", id, err)
	}
}

// TestUpgradeResumes stops the upgrade after the first site, as a crash
// would, and checks that the next Open finishes it without losing or
// doubling a row.
func TestUpgradeResumes(t *testing.T) {
	path, sites := newLegacyDB(t)
	ctx := t.Context()
	crash := errors.New("crash")
	moved := 0
	_, err := open(ctx, path, func(host string) error {
		if moved++; moved == 2 {
			return crash
		}
		return nil
	})
	if !errors.Is(err, crash) {
		t.Fatalf("Open with a crash in the second site: %v, want the crash", err)
	}
	raw, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var done int
	if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM orchard_sites WHERE schema = ?`, siteSchema).Scan(&done); err != nil || done != 1 {
		t.Errorf("%d sites moved before the crash (%v), want 1", done, err)
	}
	raw.Close()

	db := mustOpen(t, path)
	wantMoved(t, db, sites)
}

// TestUpgradeIdsStable checks that a moved site keeps the id it got when
// ids were added, so the rows keyed by it stay its own.
func TestUpgradeIdsStable(t *testing.T) {
	path, _ := newLegacyDB(t)
	ctx := context.Background()
	ids := func(db *DB) map[string]int64 {
		m := map[string]int64{}
		err := sqlrows.Each(ctx, db.read, func(sc sqlrows.Scanner) error {
			var h string
			var id int64
			if err := sc.Scan(&h, &id); err != nil {
				return err
			}
			m[h] = id
			return nil
		}, `SELECT host, id FROM orchard_sites`)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	first := ids(db)
	db.Close()
	if want := map[string]int64{"a-b.example": 1, "a.b.example": 2, "old.example": 3}; !reflect.DeepEqual(first, want) {
		t.Errorf("site ids after the upgrade %v, want the rowids the sites had, %v", first, want)
	}
	if got := ids(mustOpen(t, path)); !reflect.DeepEqual(got, first) || len(got) != 3 {
		t.Errorf("site ids changed across opens: %v, then %v", first, got)
	}
}
