package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlrows"
)

// migration is one step of the registry schema. Steps are applied in order,
// each in its own transaction, and recorded in orchard_migrations.
type migration struct {
	name string
	sql  string
}

// migrations is the registry schema's history; append, never edit.
var migrations = []migration{
	{"registry", `
CREATE TABLE orchard_sites (
	host          TEXT PRIMARY KEY,
	prefix        TEXT NOT NULL UNIQUE,
	title         TEXT NOT NULL,
	description   TEXT NOT NULL,
	scheme        TEXT NOT NULL,
	cache_control TEXT NOT NULL,
	feed_size     INTEGER NOT NULL,
	schema        INTEGER NOT NULL, -- version of the site's own tables
	created       INTEGER NOT NULL, -- microseconds since the epoch, UTC
	updated       INTEGER NOT NULL
);
CREATE TABLE orchard_hosts (
	name TEXT PRIMARY KEY,  -- a site's host or one of its aliases
	site TEXT NOT NULL REFERENCES orchard_sites(host) ON DELETE CASCADE,
	pos  INTEGER NOT NULL   -- 0 for the host itself, then aliases in order
);
CREATE INDEX orchard_hosts_site ON orchard_hosts(site, pos);
CREATE TABLE orchard_users (
	site          TEXT NOT NULL, -- "" for a cluster admin
	name          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created       INTEGER NOT NULL,
	PRIMARY KEY (site, name)
);`},
	// version: see DB.SiteVersion; a site made before counts from 0.
	{"site version", `ALTER TABLE orchard_sites ADD COLUMN version INTEGER NOT NULL DEFAULT 0;`},
	// redirects: orchard.Site.Redirects, in the registry beside the
	// aliases (part of the settings, few per site), so the per-site
	// tables keep their schema.
	{"redirects", `
CREATE TABLE orchard_redirects (
	site      TEXT NOT NULL REFERENCES orchard_sites(host) ON DELETE CASCADE,
	from_path TEXT NOT NULL,
	to_url    TEXT NOT NULL,
	PRIMARY KEY (site, from_path)
);`},
	// site ids: the key of the shared content tables. A site made before
	// gets its rowid. New ids come from orchard_site_ids, whose
	// AUTOINCREMENT never hands out an id twice, so a site created after
	// another was dropped can never meet rows the drop left behind.
	{"site ids", `
ALTER TABLE orchard_sites ADD COLUMN id INTEGER;
UPDATE orchard_sites SET id = rowid;
CREATE UNIQUE INDEX orchard_sites_id ON orchard_sites(id);
CREATE TABLE orchard_site_ids (id INTEGER PRIMARY KEY AUTOINCREMENT);
INSERT INTO orchard_site_ids (id) SELECT COALESCE(MAX(id), 0) FROM orchard_sites;
DELETE FROM orchard_site_ids;`},
	// content: one set of tables for every site, keyed by site id (issue
	// 23: per-site tables made every open parse 10 schema objects per site
	// and every CREATE TABLE rescan them). moveSites moves the content of
	// sites made before into them. pages keeps its body last and a covering
	// index for LoadSiteIndex (see loadPages).
	{"content tables", `
CREATE TABLE orchard_categories (
	site_id     INTEGER NOT NULL REFERENCES orchard_sites(id) ON DELETE CASCADE,
	path        TEXT NOT NULL,
	parent      TEXT,
	title       TEXT NOT NULL,
	description TEXT NOT NULL,
	sort        INTEGER NOT NULL,
	created     INTEGER NOT NULL,
	updated     INTEGER NOT NULL,
	PRIMARY KEY (site_id, path),
	FOREIGN KEY (site_id, parent) REFERENCES orchard_categories(site_id, path)
);
CREATE INDEX orchard_categories_parent ON orchard_categories(site_id, parent);
CREATE TABLE orchard_pages (
	site_id     INTEGER NOT NULL REFERENCES orchard_sites(id) ON DELETE CASCADE,
	path        TEXT NOT NULL,
	category    TEXT,
	title       TEXT NOT NULL,
	layout      TEXT NOT NULL,
	format      TEXT NOT NULL,
	description TEXT NOT NULL,
	published   INTEGER NOT NULL,
	created     INTEGER NOT NULL,
	updated     INTEGER NOT NULL,
	digest      TEXT NOT NULL DEFAULT '', -- orchard.Page.ContentDigest, '' = unknown
	body        TEXT NOT NULL,            -- last: see loadPages
	PRIMARY KEY (site_id, path),
	FOREIGN KEY (site_id, category) REFERENCES orchard_categories(site_id, path)
);
CREATE INDEX orchard_pages_category ON orchard_pages(site_id, category);
CREATE INDEX orchard_pages_index ON orchard_pages(site_id, ` + indexColumns + `);
CREATE TABLE orchard_assets (
	site_id      INTEGER NOT NULL REFERENCES orchard_sites(id) ON DELETE CASCADE,
	path         TEXT NOT NULL,
	content_type TEXT NOT NULL,
	data         BLOB NOT NULL,
	updated      INTEGER NOT NULL,
	PRIMARY KEY (site_id, path)
);
CREATE TABLE orchard_templates (
	site_id INTEGER NOT NULL REFERENCES orchard_sites(id) ON DELETE CASCADE,
	name    TEXT NOT NULL,
	body    TEXT NOT NULL,
	updated INTEGER NOT NULL,
	PRIMARY KEY (site_id, name)
);`},
	// moveSites looks for legacy sites on every Open: without an index
	// that read every row of orchard_sites (17 ms at 10,000 sites). The
	// index holds only the sites not yet moved, so it is empty after.
	{"legacy sites index", `
CREATE INDEX orchard_sites_legacy ON orchard_sites(host) WHERE schema < 4;`},
}

// siteSchema is orchard_sites.schema of a site whose content is in the
// shared tables. Sites made by an older orchard had tables of their own
// (see legacyTables): 1 without the pages' digest column, 2 with it, 3
// with the pages' covering index. moveSites moves them to version 4.
const siteSchema = 4

// migrate brings the registry schema up to date.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS orchard_migrations (
		version INTEGER PRIMARY KEY,
		name    TEXT NOT NULL,
		applied INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	for i, m := range migrations {
		version := i + 1
		err := db.update(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM orchard_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO orchard_migrations (version, name, applied) VALUES (?, ?, ?)`,
				version, m.name, timeToDB(db.now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %d (%s): %w", version, m.name, err)
		}
	}
	var newest int
	if err := db.write.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM orchard_migrations`).Scan(&newest); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if newest > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this orchard (%d); upgrade orchard", newest, len(migrations))
	}
	return db.moveSites(ctx)
}

// legacySitesQuery lists the sites moveSites moves. Its condition is
// orchard_sites_legacy's, literally (SQLite uses a partial index only for
// a query whose WHERE implies the index's), and siteSchema's (a test
// checks both).
const legacySitesQuery = `SELECT host FROM orchard_sites WHERE schema < 4 ORDER BY host`

// moveSites moves the content of every site made by an older orchard from
// its own tables into the shared ones, one site per transaction that
// copies its rows, drops its tables and marks it moved: a crash between
// two sites leaves each either moved or untouched, and the next Open
// carries on.
func (db *DB) moveSites(ctx context.Context) error {
	hosts, err := sqlrows.List(ctx, db.write, sqlrows.String, legacySitesQuery)
	if err != nil {
		return fmt.Errorf("read site schema versions: %w", err)
	}
	for _, h := range hosts {
		err := db.update(ctx, func(tx *sql.Tx) error {
			if err := moveSite(ctx, tx, h); err != nil {
				return err
			}
			if db.afterMove != nil {
				return db.afterMove(h)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("move the tables of site %s into the shared tables: %w", h, err)
		}
	}
	return nil
}

// moveSite moves the content of site h from its own tables into the shared
// ones and drops its tables, in tx.
func moveSite(ctx context.Context, tx *sql.Tx, h string) error {
	var id int64
	var v int
	if err := tx.QueryRowContext(ctx, `SELECT id, schema FROM orchard_sites WHERE host = ?`, h).Scan(&id, &v); err != nil {
		return err
	}
	if v >= siteSchema {
		return nil // another process moved it since moveSites looked
	}
	t := legacyTablesFor(h)
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN (?, ?, ?, ?)`,
		t.prefix+"_categories", t.prefix+"_pages", t.prefix+"_assets", t.prefix+"_templates").Scan(&n); err != nil {
		return err
	}
	if n != 4 {
		return fmt.Errorf("the site has %d of its 4 tables (%s_*)", n, t.prefix)
	}
	digest := "digest"
	if v < 2 {
		digest = "''" // no digest column yet: fillDigests computes them
	}
	for _, q := range []string{
		`INSERT INTO orchard_categories (site_id, path, parent, title, description, sort, created, updated)
			SELECT ?, path, parent, title, description, sort, created, updated FROM ` + t.categories,
		`INSERT INTO orchard_pages (site_id, path, category, title, layout, format, description, published, created, updated, digest, body)
			SELECT ?, path, category, title, layout, format, description, published, created, updated, ` + digest + `, body FROM ` + t.pages,
		`INSERT INTO orchard_assets (site_id, path, content_type, data, updated)
			SELECT ?, path, content_type, data, updated FROM ` + t.assets,
		`INSERT INTO orchard_templates (site_id, name, body, updated)
			SELECT ?, name, body, updated FROM ` + t.templates,
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return err
		}
	}
	if err := fillDigests(ctx, tx, id); err != nil {
		return err
	}
	for _, name := range []string{t.pages, t.categories, t.assets, t.templates} {
		if _, err := tx.ExecContext(ctx, `DROP TABLE `+name); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `UPDATE orchard_sites SET schema = ? WHERE id = ?`, siteSchema, id)
	return err
}

// fillDigests computes the digest of every page of site id that has none.
func fillDigests(ctx context.Context, tx *sql.Tx, id int64) error {
	pages, err := sqlrows.List(ctx, tx, scanPage, `SELECT `+pageColumns+` FROM orchard_pages WHERE site_id = ? AND digest = ''`, id)
	if err != nil {
		return err
	}
	for _, p := range pages {
		if _, err := tx.ExecContext(ctx, `UPDATE orchard_pages SET digest = ? WHERE site_id = ? AND path = ?`, p.ContentDigest(), id, p.Path); err != nil {
			return err
		}
	}
	return nil
}

// legacyTables names the tables of one site as orchard made them before
// the shared tables (siteSchema 1 to 3); only moveSite reads them. Names
// are built only from orchard.TablePrefix of a registered host and fixed
// suffixes.
type legacyTables struct {
	prefix, categories, pages, assets, templates string
}

func legacyTablesFor(host string) legacyTables {
	p := orchard.TablePrefix(host)
	q := func(suffix string) string { return `"` + p + suffix + `"` }
	return legacyTables{prefix: p, categories: q("_categories"), pages: q("_pages"), assets: q("_assets"), templates: q("_templates")}
}
