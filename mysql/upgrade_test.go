package mysql

import (
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/mariadbtest"
	"github.com/orchardhq/orchard/internal/sqlrows"
	"github.com/orchardhq/orchard/internal/storetest"
)

// legacySiteDDL is the DDL of one site's own tables as orchard made them
// before the shared content tables (copied from the old tables.create,
// prefix P). Before migration 4 the pages table had no digest column.
var legacySiteDDL = []string{
	"CREATE TABLE `P_categories` (" + `
			path        VARCHAR(512) NOT NULL,
			parent      VARCHAR(512) NULL,
			title       VARCHAR(200) NOT NULL,
			description MEDIUMTEXT   NOT NULL,
			sort        INT          NOT NULL,
			created     DATETIME(6)  NOT NULL,
			updated     DATETIME(6)  NOT NULL,
			PRIMARY KEY (path),
			KEY parent (parent),
			FOREIGN KEY (parent) REFERENCES ` + "`P_categories`" + ` (path)
		)` + tableOptions,
	"CREATE TABLE `P_pages` (" + `
			path        VARCHAR(512) NOT NULL,
			title       VARCHAR(200) NOT NULL,
			category    VARCHAR(512) NULL,
			layout      VARCHAR(64)  NOT NULL,
			format      VARCHAR(16)  NOT NULL,
			body        LONGTEXT     NOT NULL,
			description TEXT         NOT NULL,
			published   TINYINT(1)   NOT NULL,
			created     DATETIME(6)  NOT NULL,
			updated     DATETIME(6)  NOT NULL,
			digest      CHAR(64)     NOT NULL DEFAULT '',
			PRIMARY KEY (path),
			KEY category (category),
			FOREIGN KEY (category) REFERENCES ` + "`P_categories`" + ` (path)
		)` + tableOptions,
	"CREATE TABLE `P_assets` (" + `
			path         VARCHAR(512) NOT NULL,
			content_type VARCHAR(100) NOT NULL,
			data         LONGBLOB     NOT NULL,
			updated      DATETIME(6)  NOT NULL,
			PRIMARY KEY (path)
		)` + tableOptions,
	"CREATE TABLE `P_templates` (" + `
			name    VARCHAR(128) NOT NULL,
			body    MEDIUMTEXT   NOT NULL,
			updated DATETIME(6)  NOT NULL,
			PRIMARY KEY (name)
		)` + tableOptions,
}

// legacySite is one site of a legacy fixture with its content version.
type legacySite struct {
	c       orchard.SiteContent
	version int64
}

// legacyFixture returns the sites of the upgrade tests: two hosts that
// differ only in '-' and '.', with the same paths holding different
// content, and a third. Before migration 6 there were no redirects and
// before 5 no versions (a site made then counts from 0).
func legacyFixture(schema int) []legacySite {
	site := func(host string, n int) legacySite {
		k := storetest.KeptSite(host, n)
		ls := legacySite{c: k.Content, version: k.Version}
		if schema < 6 {
			ls.c.Site.Redirects = nil
		}
		if schema < 5 {
			ls.version = 0
		}
		return ls
	}
	return []legacySite{site("a-b.example", 1), site("a.b.example", 2), site("old.example", 3)}
}

// makeLegacyDB fills the empty database of raw as orchard made it before
// the shared content tables, at registry schema version schema (3: before
// page digests, 6: the last one): the registry migrations up to schema,
// run as then (migrations are never edited), and each site's own tables
// and rows written with plain SQL.
func makeLegacyDB(t *testing.T, raw *sql.DB, schema int, sites []legacySite) {
	t.Helper()
	ctx := t.Context()
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE orchard_migrations (version INT NOT NULL PRIMARY KEY, applied DATETIME(6) NOT NULL)` + tableOptions)
	for v := 1; v <= schema; v++ {
		if step := goMigrations[v]; step != nil {
			if err := step(ctx, conn); err != nil {
				t.Fatal(err)
			}
		} else {
			exec(migrations[v])
		}
		exec(`INSERT INTO orchard_migrations (version, applied) VALUES (?, ?)`, v, now())
	}
	for _, ls := range sites {
		s := ls.c.Site
		p := s.Prefix
		for _, q := range legacySiteDDL {
			if schema < 4 {
				q = strings.Replace(q, "digest      CHAR(64)     NOT NULL DEFAULT '',", "", 1)
			}
			exec(strings.ReplaceAll(q, "`P_", "`"+p+"_"))
		}
		exec(`INSERT INTO orchard_sites (host, prefix, title, description, scheme, cache_control, feed_size, created, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.Host, p, s.Title, s.Description, s.Scheme, s.CacheControl, s.FeedSize, s.Created, s.Updated)
		if schema >= 5 {
			exec(`UPDATE orchard_sites SET version = ? WHERE host = ?`, ls.version, s.Host)
		}
		for pos, name := range append([]string{s.Host}, s.Aliases...) {
			exec(`INSERT INTO orchard_hosts (host, site, pos) VALUES (?, ?, ?)`, name, s.Host, pos)
		}
		if err := insertRedirectsFor(t, conn, s); err != nil {
			t.Fatal(err)
		}
		for _, c := range ls.c.Categories {
			exec("INSERT INTO `"+p+"_categories` (path, parent, title, description, sort, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)",
				c.Path, nullable(c.Parent()), c.Title, c.Description, c.Sort, c.Created, c.Updated)
		}
		for _, pg := range ls.c.Pages {
			cols, vals := "path, title, category, layout, format, body, description, published, created, updated", "?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
			args := []any{pg.Path, pg.Title, nullable(pg.Category), pg.Layout, pg.Format, pg.Body, pg.Description, pg.Published, pg.Created, pg.Updated}
			if schema >= 4 {
				cols, vals, args = cols+", digest", vals+", ?", append(args, pg.ContentDigest())
			}
			exec("INSERT INTO `"+p+"_pages` ("+cols+") VALUES ("+vals+")", args...)
		}
		for _, a := range ls.c.Assets {
			exec("INSERT INTO `"+p+"_assets` (path, content_type, data, updated) VALUES (?, ?, ?, ?)", a.Path, a.ContentType, a.Data, a.Updated)
		}
		for _, tm := range ls.c.Templates {
			exec("INSERT INTO `"+p+"_templates` (name, body, updated) VALUES (?, ?, ?)", tm.Name, tm.Body, tm.Updated)
		}
		for _, u := range ls.c.Users {
			exec(`INSERT INTO orchard_users (site, name, password_hash, created) VALUES (?, ?, ?, ?)`, u.Site, u.Name, u.PasswordHash, u.Created)
		}
	}
}

// insertRedirectsFor writes s.Redirects as the old insertRedirects did.
func insertRedirectsFor(t *testing.T, conn *sql.Conn, s orchard.Site) error {
	t.Helper()
	if len(s.Redirects) == 0 {
		return nil
	}
	tx, err := conn.BeginTx(t.Context(), nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := insertRedirects(t.Context(), tx, &s); err != nil {
		return err
	}
	return tx.Commit()
}

// wantMoved checks that db holds exactly the fixture's sites, each read
// back whole through the Store API, and no legacy tables or extra rows.
func wantMoved(t *testing.T, db *DB, raw *sql.DB, sites []legacySite) {
	t.Helper()
	kept := make([]storetest.Kept, len(sites))
	for i, ls := range sites {
		kept[i] = storetest.Kept{Content: ls.c, Version: ls.version}
	}
	storetest.CheckKept(t, db, kept, func(table string) (n int, err error) {
		err = raw.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM `+table).Scan(&n)
		return n, err
	})
	ctx := t.Context()
	var legacy, empty int
	if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 's\\_%'`).Scan(&legacy); err != nil || legacy != 0 {
		t.Errorf("%d legacy tables left (%v)", legacy, err)
	}
	if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM orchard_pages WHERE digest = ''`).Scan(&empty); err != nil || empty != 0 {
		t.Errorf("%d pages without a digest after the upgrade (%v)", empty, err)
	}
}

// TestUpgradeLegacyTables opens databases made with per-site tables: Open
// moves every site's content into the shared tables and loses nothing, a
// second Open changes nothing, an Open stopped after the first site is
// finished by the next, and the moved sites are ordinary sites.
func TestUpgradeLegacyTables(t *testing.T) {
	c := mariadbtest.Start(t, 1)
	setup := func(t *testing.T, schema int) (dsn string, raw *sql.DB, sites []legacySite) {
		t.Helper()
		name := c.NewDatabase(t)
		raw = c.Open(t, c.Primary(), name)
		sites = legacyFixture(schema)
		makeLegacyDB(t, raw, schema, sites)
		return c.Primary().DSN("root", "", name), raw, sites
	}
	openDB := func(t *testing.T, dsn string) *DB {
		t.Helper()
		db, err := Open(t.Context(), dsn, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	for _, schema := range []int{6, 3} {
		t.Run(fmt.Sprintf("Schema%d", schema), func(t *testing.T) {
			dsn, raw, sites := setup(t, schema)
			db := openDB(t, dsn)
			wantMoved(t, db, raw, sites)
			db.Close()
			db = openDB(t, dsn) // idempotent
			wantMoved(t, db, raw, sites)
		})
	}
	t.Run("Resumes", func(t *testing.T) {
		dsn, raw, sites := setup(t, 6)
		crash := errors.New("crash")
		moved := 0
		_, err := open(t.Context(), dsn, nil, Options{}, func(host string) error {
			if moved++; moved == 2 {
				return crash
			}
			return nil
		})
		if !errors.Is(err, crash) {
			t.Fatalf("Open with a crash in the second site: %v, want the crash", err)
		}
		var done int
		if err := raw.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM orchard_sites WHERE layout = 1`).Scan(&done); err != nil || done != 1 {
			t.Errorf("%d sites moved before the crash (%v), want 1", done, err)
		}
		// A crash after a site's commit, before its tables were dropped,
		// leaves them behind: the next Open drops them without copying.
		if _, err := raw.ExecContext(t.Context(), "CREATE TABLE `"+orchard.TablePrefix("a-b.example")+"_templates` (x INT)"); err != nil {
			t.Fatal(err)
		}
		wantMoved(t, openDB(t, dsn), raw, sites)
	})
	t.Run("Moved", func(t *testing.T) {
		dsn, raw, _ := setup(t, 6)
		storetest.CheckMovedSites(t, openDB(t, dsn))
		// new.example got an id no site ever had, even after the site
		// with the highest id (old.example, 3) was dropped.
		ids := map[string]int64{}
		err := sqlrows.Each(t.Context(), raw, func(sc sqlrows.Scanner) error {
			var h string
			var id int64
			if err := sc.Scan(&h, &id); err != nil {
				return err
			}
			ids[h] = id
			return nil
		}, `SELECT host, id FROM orchard_sites`)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int64{"a.b.example": 2, "new.example": 4}; !reflect.DeepEqual(ids, want) {
			t.Errorf("site ids %v, want %v (the moved site keeps its id; a new one is never reused)", ids, want)
		}
	})
}
