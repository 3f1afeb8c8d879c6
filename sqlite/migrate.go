package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	orchard "github.com/orchardhq/orchard"
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
}

// siteSchema is the version of the per-site tables createSiteTables makes:
// 2 added the pages' digest column, 3 the pages' covering index for
// LoadSiteIndex (upgradeSites brings older sites up).
const siteSchema = 3

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
	return db.upgradeSites(ctx)
}

// upgradeSites brings the tables of every site made by an older orchard up
// to siteSchema, one site per transaction: version 2 makes the pages table
// again with a digest column (see pagesTable) and computes every page's.
func (db *DB) upgradeSites(ctx context.Context) error {
	rows, err := db.write.QueryContext(ctx, `SELECT host FROM orchard_sites WHERE schema < ? ORDER BY host`, siteSchema)
	if err != nil {
		return fmt.Errorf("read site schema versions: %w", err)
	}
	var hosts []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return fmt.Errorf("read site schema versions: %w", err)
		}
		hosts = append(hosts, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read site schema versions: %w", err)
	}
	for _, h := range hosts {
		err := db.update(ctx, func(tx *sql.Tx) error {
			var v int
			if err := tx.QueryRowContext(ctx, `SELECT schema FROM orchard_sites WHERE host = ?`, h).Scan(&v); err != nil {
				return err
			}
			if v < 2 {
				if err := upgradePages2(ctx, tx, h); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, pagesIndex(tablesFor(h))); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE orchard_sites SET schema = ? WHERE host = ?`, siteSchema, h)
			return err
		})
		if err != nil {
			return fmt.Errorf("upgrade the tables of site %s to version %d: %w", h, siteSchema, err)
		}
	}
	return nil
}

// upgradePages2 brings the pages table of site h to version 2.
func upgradePages2(ctx context.Context, tx *sql.Tx, h string) error {
	// The table is made again with the digest column and the body last
	// (see pagesTable), as SQLite's ALTER TABLE cannot reorder columns.
	t := tablesFor(h)
	tmp := quoteIdent(t.prefix + "_pages_v2")
	const cols = `path, category, title, layout, format, description, published, created, updated, body`
	for _, q := range []string{
		pagesTable(tmp, t),
		`INSERT INTO ` + tmp + ` (` + cols + `) SELECT ` + cols + ` FROM ` + t.pages,
		`DROP TABLE ` + t.pages,
		`ALTER TABLE ` + tmp + ` RENAME TO ` + t.pages,
		`CREATE INDEX ` + indexName(t.pages, "category") + ` ON ` + t.pages + `(category)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return fillDigests(ctx, tx, t)
}

// fillDigests computes the digest of every page of t that has none.
func fillDigests(ctx context.Context, tx *sql.Tx, t tables) error {
	rows, err := tx.QueryContext(ctx, `SELECT `+pageColumns+` FROM `+t.pages+` WHERE digest = ''`)
	if err != nil {
		return err
	}
	sums := map[string]string{}
	for rows.Next() {
		var p orchard.Page
		if err := scanPageInto(rows, &p); err != nil {
			rows.Close()
			return err
		}
		sums[p.Path] = p.ContentDigest()
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for path, sum := range sums {
		if _, err := tx.ExecContext(ctx, `UPDATE `+t.pages+` SET digest = ? WHERE path = ?`, sum, path); err != nil {
			return err
		}
	}
	return nil
}

// tables names the tables of one site. Names are built only from
// orchard.TablePrefix of a normalised host and fixed suffixes.
type tables struct {
	prefix, categories, pages, assets, templates string
}

func tablesFor(host string) tables {
	p := orchard.TablePrefix(host)
	return tables{
		prefix:     p,
		categories: quoteIdent(p + "_categories"),
		pages:      quoteIdent(p + "_pages"),
		assets:     quoteIdent(p + "_assets"),
		templates:  quoteIdent(p + "_templates"),
	}
}

// quoteIdent quotes a table name made of [a-z0-9_] (TablePrefix guarantees it).
func quoteIdent(s string) string { return `"` + s + `"` }

// createSiteTables creates the tables of the site with the given tables.
func createSiteTables(ctx context.Context, tx *sql.Tx, t tables) error {
	stmts := []string{
		`CREATE TABLE ` + t.categories + ` (
			path        TEXT PRIMARY KEY,
			parent      TEXT REFERENCES ` + t.categories + `(path),
			title       TEXT NOT NULL,
			description TEXT NOT NULL,
			sort        INTEGER NOT NULL,
			created     INTEGER NOT NULL,
			updated     INTEGER NOT NULL
		)`,
		pagesTable(t.pages, t),
		`CREATE INDEX ` + indexName(t.pages, "category") + ` ON ` + t.pages + `(category)`,
		pagesIndex(t),
		`CREATE TABLE ` + t.assets + ` (
			path         TEXT PRIMARY KEY,
			content_type TEXT NOT NULL,
			data         BLOB NOT NULL,
			updated      INTEGER NOT NULL
		)`,
		`CREATE TABLE ` + t.templates + ` (
			name    TEXT PRIMARY KEY,
			body    TEXT NOT NULL,
			updated INTEGER NOT NULL
		)`,
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("create site tables: %w", err)
		}
	}
	return nil
}

// pagesTable is the CREATE TABLE of a site's pages under the given name.
// The body comes last: a row's columns after a body that overflows its
// B-tree page are read only by following the overflow chain, which
// LoadSiteIndex, reading everything but bodies, must not have to do.
func pagesTable(name string, t tables) string {
	return `CREATE TABLE ` + name + ` (
			path        TEXT PRIMARY KEY,
			category    TEXT REFERENCES ` + t.categories + `(path),
			title       TEXT NOT NULL,
			layout      TEXT NOT NULL,
			format      TEXT NOT NULL,
			description TEXT NOT NULL,
			published   INTEGER NOT NULL,
			created     INTEGER NOT NULL,
			updated     INTEGER NOT NULL,
			digest      TEXT NOT NULL DEFAULT '', -- orchard.Page.ContentDigest, '' = unknown
			body        TEXT NOT NULL
		)`
}

// indexColumns are the columns LoadSiteIndex reads, in the pages' covering
// index (pagesIndex), so that it reads that small B-tree in path order
// rather than every table row (and, a body being large, the row's overflow).
const indexColumns = `path, category, title, layout, format, description, published, created, updated, digest`

// pagesIndex is the CREATE INDEX of the pages' covering index.
func pagesIndex(t tables) string {
	return `CREATE INDEX IF NOT EXISTS ` + indexName(t.pages, "index") + ` ON ` + t.pages + `(` + indexColumns + `)`
}

// indexName derives an index name from a quoted table name.
func indexName(quotedTable, col string) string {
	return quotedTable[:len(quotedTable)-1] + "_" + col + `"`
}

// dropSiteTables drops the tables of one site, pages before categories.
func dropSiteTables(ctx context.Context, tx *sql.Tx, t tables) error {
	for _, name := range []string{t.pages, t.categories, t.assets, t.templates} {
		if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS `+name); err != nil {
			return fmt.Errorf("drop site tables: %w", err)
		}
	}
	return nil
}
