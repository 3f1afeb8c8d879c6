package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlrows"
)

const tableOptions = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

// migrations are applied in order, once each, recorded in
// orchard_migrations. Never edit one that has shipped; add another.
var migrations = []string{
	1: `CREATE TABLE IF NOT EXISTS orchard_sites (
		host          VARCHAR(253) NOT NULL,
		prefix        VARCHAR(64)  NOT NULL,
		title         VARCHAR(200) NOT NULL,
		description   MEDIUMTEXT   NOT NULL,
		scheme        VARCHAR(8)   NOT NULL,
		cache_control VARCHAR(200) NOT NULL,
		feed_size     INT          NOT NULL,
		created       DATETIME(6)  NOT NULL,
		updated       DATETIME(6)  NOT NULL,
		PRIMARY KEY (host),
		UNIQUE KEY orchard_sites_prefix (prefix)
	)` + tableOptions,
	2: `CREATE TABLE IF NOT EXISTS orchard_hosts (
		host VARCHAR(253) NOT NULL,
		site VARCHAR(253) NOT NULL,
		pos  INT          NOT NULL,
		PRIMARY KEY (host),
		KEY orchard_hosts_site (site, pos),
		CONSTRAINT orchard_hosts_site_fk FOREIGN KEY (site) REFERENCES orchard_sites (host) ON DELETE CASCADE
	)` + tableOptions,
	3: `CREATE TABLE IF NOT EXISTS orchard_users (
		site          VARCHAR(253) NOT NULL,
		name          VARCHAR(64)  NOT NULL,
		password_hash VARCHAR(512) NOT NULL,
		created       DATETIME(6)  NOT NULL,
		PRIMARY KEY (site, name)
	)` + tableOptions,
	4: `-- every site's pages get a digest column (addPageDigests)`,
	5: `-- orchard_sites gets the content version column (addSiteVersion)`,
	// orchard.Site.Redirects, in the registry beside the aliases (part of
	// the settings), so the per-site tables keep their schema. from_path
	// is hashed for the key: a path may be longer than an index allows.
	6: `CREATE TABLE IF NOT EXISTS orchard_redirects (
		site      VARCHAR(253)  NOT NULL,
		from_hash BINARY(32)    NOT NULL,
		from_path VARCHAR(1024) NOT NULL,
		to_url    VARCHAR(2048) NOT NULL,
		PRIMARY KEY (site, from_hash),
		CONSTRAINT orchard_redirects_site_fk FOREIGN KEY (site) REFERENCES orchard_sites (host) ON DELETE CASCADE
	)` + tableOptions,
	7: `-- orchard_sites gets id and layout (addSiteIDs)`,
	8: `-- the content tables shared by every site (createContentTables)`,
}

// goMigrations are the migrations done in Go rather than one statement.
var goMigrations = map[int]func(ctx context.Context, conn *sql.Conn) error{
	4: addPageDigests,
	5: addSiteVersion,
	7: addSiteIDs,
	8: createContentTables,
}

// addPageDigests adds the digest column (orchard.Page.ContentDigest) to the
// pages table of every existing site and computes it for every page. Each
// step can run again after a crash: a column already there is kept, and
// only empty digests are computed.
func addPageDigests(ctx context.Context, conn *sql.Conn) error {
	hosts, err := sqlrows.List(ctx, conn, sqlrows.String, "SELECT host FROM orchard_sites ORDER BY host")
	if err != nil {
		return err
	}
	for _, h := range hosts {
		t := legacyTablesFor(h)
		if err := addColumn(ctx, conn, t.prefix+"_pages", "digest",
			"ALTER TABLE "+t.pages+" ADD COLUMN digest CHAR(64) NOT NULL DEFAULT ''"); err != nil {
			return fmt.Errorf("site %s: %w", h, err)
		}
		ps, err := legacyPages(ctx, conn, t)
		if err != nil {
			return fmt.Errorf("site %s: %w", h, err)
		}
		for _, p := range ps {
			if _, err := conn.ExecContext(ctx, "UPDATE "+t.pages+" SET digest = ? WHERE path = ? AND digest = ''",
				p.ContentDigest(), p.Path); err != nil {
				return fmt.Errorf("site %s: %w", h, err)
			}
		}
	}
	return nil
}

// migrate brings the registry tables up to date, holding a named lock so
// that two processes starting at once do not race.
func (d *DB) migrate(ctx context.Context) error {
	conn, err := d.primary.Conn(ctx)
	if err != nil {
		return fmt.Errorf("mysql migrate: %w", err)
	}
	defer conn.Close()
	if err := getLock(ctx, conn, "orchard:migrate"); err != nil {
		return fmt.Errorf("mysql migrate: %w", err)
	}
	defer releaseLock(conn, "orchard:migrate")
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS orchard_migrations (
		version INT NOT NULL PRIMARY KEY,
		applied DATETIME(6) NOT NULL
	)`+tableOptions); err != nil {
		return fmt.Errorf("mysql migrate: %w", explainDDL(err))
	}
	var have sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT MAX(version) FROM orchard_migrations").Scan(&have); err != nil {
		return fmt.Errorf("mysql migrate: %w", err)
	}
	if int(have.Int64) > len(migrations)-1 {
		return fmt.Errorf("mysql migrate: the database is at schema version %d, newer than this orchard (%d): upgrade orchard", have.Int64, len(migrations)-1)
	}
	for v := int(have.Int64) + 1; v < len(migrations); v++ {
		if step := goMigrations[v]; step != nil {
			if err := step(ctx, conn); err != nil {
				return fmt.Errorf("mysql migrate to version %d: %w", v, explainDDL(err))
			}
		} else if _, err := conn.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("mysql migrate to version %d: %w", v, explainDDL(err))
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO orchard_migrations (version, applied) VALUES (?, ?)", v, now()); err != nil {
			return fmt.Errorf("mysql migrate to version %d: %w", v, err)
		}
		d.logger.Info("migrated", "version", v)
	}
	if err := d.moveSites(ctx, conn); err != nil {
		return fmt.Errorf("mysql migrate: %w", explainDDL(err))
	}
	if int(have.Int64) < len(migrations)-1 {
		d.noteWrite(ctx)
	}
	return nil
}

func explainDDL(err error) error {
	if n := mysqlErrno(err); n == 1142 || n == 1044 {
		return fmt.Errorf("%w (the account needs CREATE, ALTER, INDEX and REFERENCES on the database: run orchard db init)", err)
	}
	return err
}

// now is the store's clock: UTC, at the microsecond precision DATETIME(6)
// keeps, so a value read back equals the value written.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// stamp normalises a given time the same way, or returns now for zero.
func stamp(t time.Time) time.Time {
	if t.IsZero() {
		return now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// addSiteIDs gives every site an id, the key of the shared content tables
// (AUTO_INCREMENT: InnoDB keeps its counter across restarts from MariaDB
// 10.2.4 and MySQL 8.0, so a dropped site's id is not handed out again),
// and the layout column: 0 for a site whose content is still in its own
// tables (moveSites moves it), 1 for one in the shared tables. It can run
// again after a crash: a column already there is kept.
func addSiteIDs(ctx context.Context, conn *sql.Conn) error {
	return addColumn(ctx, conn, "orchard_sites", "id", "ALTER TABLE orchard_sites ADD COLUMN id BIGINT NOT NULL AUTO_INCREMENT,"+
		" ADD UNIQUE KEY orchard_sites_id (id), ADD COLUMN layout TINYINT NOT NULL DEFAULT 0")
}

// addColumn runs alter, which adds column to table, unless the column is
// already there: a migration that adds a column can run again after a crash.
func addColumn(ctx context.Context, conn *sql.Conn, table, column, alter string) error {
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.COLUMNS"+
		" WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?", table, column).Scan(&n); err != nil {
		return fmt.Errorf("columns of %s: %w", table, err)
	}
	if n > 0 {
		return nil
	}
	_, err := conn.ExecContext(ctx, alter)
	return err
}

// createContentTables creates the tables that hold every site's content,
// keyed by site id (issue 23: tables per site made the schema, and every
// CREATE and open, grow with the sites). Deleting a site deletes its rows
// (DropSite deletes them first, children before parents, as InnoDB checks
// each row's foreign keys at once).
func createContentTables(ctx context.Context, conn *sql.Conn) error {
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS orchard_categories (
			site_id     BIGINT       NOT NULL,
			path        VARCHAR(512) NOT NULL,
			parent      VARCHAR(512) NULL,
			title       VARCHAR(200) NOT NULL,
			description MEDIUMTEXT   NOT NULL,
			sort        INT          NOT NULL,
			created     DATETIME(6)  NOT NULL,
			updated     DATETIME(6)  NOT NULL,
			PRIMARY KEY (site_id, path),
			KEY orchard_categories_parent (site_id, parent),
			CONSTRAINT orchard_categories_site_fk FOREIGN KEY (site_id) REFERENCES orchard_sites (id) ON DELETE CASCADE,
			CONSTRAINT orchard_categories_parent_fk FOREIGN KEY (site_id, parent) REFERENCES orchard_categories (site_id, path)
		)` + tableOptions,
		`CREATE TABLE IF NOT EXISTS orchard_pages (
			site_id     BIGINT       NOT NULL,
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
			PRIMARY KEY (site_id, path),
			KEY orchard_pages_category (site_id, category),
			CONSTRAINT orchard_pages_site_fk FOREIGN KEY (site_id) REFERENCES orchard_sites (id) ON DELETE CASCADE,
			CONSTRAINT orchard_pages_category_fk FOREIGN KEY (site_id, category) REFERENCES orchard_categories (site_id, path)
		)` + tableOptions,
		`CREATE TABLE IF NOT EXISTS orchard_assets (
			site_id      BIGINT       NOT NULL,
			path         VARCHAR(512) NOT NULL,
			content_type VARCHAR(100) NOT NULL,
			data         LONGBLOB     NOT NULL,
			updated      DATETIME(6)  NOT NULL,
			PRIMARY KEY (site_id, path),
			CONSTRAINT orchard_assets_site_fk FOREIGN KEY (site_id) REFERENCES orchard_sites (id) ON DELETE CASCADE
		)` + tableOptions,
		`CREATE TABLE IF NOT EXISTS orchard_templates (
			site_id BIGINT       NOT NULL,
			name    VARCHAR(128) NOT NULL,
			body    MEDIUMTEXT   NOT NULL,
			updated DATETIME(6)  NOT NULL,
			PRIMARY KEY (site_id, name),
			CONSTRAINT orchard_templates_site_fk FOREIGN KEY (site_id) REFERENCES orchard_sites (id) ON DELETE CASCADE
		)` + tableOptions,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// moveSites moves the content of every site still in its own tables
// (layout 0) into the shared tables, on every Open (so an Open that
// stopped half-way is finished by the next). Per site, one transaction
// copies the rows and sets layout 1; the site's tables are dropped after
// the commit (DDL commits by itself in MySQL), and tables a crash left
// behind after a commit are dropped by the next run.
func (d *DB) moveSites(ctx context.Context, conn *sql.Conn) error {
	tables, err := sqlrows.List(ctx, conn, sqlrows.String, `SELECT TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 's\\_%'`)
	if err != nil {
		return err
	}
	present := map[string]bool{}
	for _, name := range tables {
		present[name] = true
	}
	type site struct {
		host   string
		id     int64
		layout int
	}
	// Only sites not yet moved, unless a crash left moved sites' tables.
	q := "SELECT host, id, layout FROM orchard_sites WHERE layout = 0 ORDER BY host"
	if len(present) > 0 {
		q = "SELECT host, id, layout FROM orchard_sites ORDER BY host"
	}
	sites, err := sqlrows.List(ctx, conn, func(sc sqlrows.Scanner) (site, error) {
		var s site
		err := sc.Scan(&s.host, &s.id, &s.layout)
		return s, err
	}, q)
	if err != nil {
		return err
	}
	for _, s := range sites {
		t := legacyTablesFor(s.host)
		n := 0
		for _, suffix := range []string{"_categories", "_pages", "_assets", "_templates"} {
			if present[t.prefix+suffix] {
				n++
			}
		}
		if s.layout == 0 {
			if n != 4 && n != 0 {
				return fmt.Errorf("site %s has %d of its 4 tables (%s_*)", s.host, n, t.prefix)
			}
			err := d.writeVia(ctx, conn, func(tx *sql.Tx) error {
				var layout int
				if err := tx.QueryRowContext(ctx, "SELECT layout FROM orchard_sites WHERE id = ? FOR UPDATE", s.id).Scan(&layout); err != nil {
					return err
				}
				if layout != 0 {
					return nil // moved by another process meanwhile
				}
				if n == 4 {
					if err := copyLegacyTables(ctx, tx, t, s.id); err != nil {
						return err
					}
				}
				if _, err := tx.ExecContext(ctx, "UPDATE orchard_sites SET layout = 1 WHERE id = ?", s.id); err != nil {
					return err
				}
				if d.afterMove != nil {
					return d.afterMove(s.host)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("move the tables of site %s into the shared tables: %w", s.host, err)
			}
		}
		if n > 0 {
			for _, q := range t.drop() {
				if _, err := conn.ExecContext(ctx, q); err != nil {
					return fmt.Errorf("drop the moved tables of site %s: %w", s.host, err)
				}
			}
		}
	}
	return nil
}

// copyLegacyTables copies the rows of one site's own tables into the
// shared ones under id; parent categories first (a parent's path is
// shorter), as InnoDB checks each row's foreign keys at once.
func copyLegacyTables(ctx context.Context, tx *sql.Tx, t legacyTables, id int64) error {
	for _, q := range []string{
		"INSERT INTO orchard_categories (site_id, path, parent, title, description, sort, created, updated)" +
			" SELECT ?, path, parent, title, description, sort, created, updated FROM " + t.categories + " ORDER BY CHAR_LENGTH(path), path",
		"INSERT INTO orchard_pages (site_id, path, title, category, layout, format, body, description, published, created, updated, digest)" +
			" SELECT ?, path, title, category, layout, format, body, description, published, created, updated, digest FROM " + t.pages,
		"INSERT INTO orchard_assets (site_id, path, content_type, data, updated)" +
			" SELECT ?, path, content_type, data, updated FROM " + t.assets,
		"INSERT INTO orchard_templates (site_id, name, body, updated)" +
			" SELECT ?, name, body, updated FROM " + t.templates,
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return err
		}
	}
	return nil
}

// legacyTables are the quoted names of one site's own tables, as orchard
// made them before the shared tables; only the upgrade reads them.
type legacyTables struct {
	prefix                               string
	categories, pages, assets, templates string
}

// legacyTablesFor returns the legacy tables of a registered host. The names
// come only from orchard.TablePrefix and fixed suffixes.
func legacyTablesFor(host string) legacyTables {
	p := orchard.TablePrefix(host)
	q := func(suffix string) string { return "`" + p + suffix + "`" }
	return legacyTables{prefix: p, categories: q("_categories"), pages: q("_pages"), assets: q("_assets"), templates: q("_templates")}
}

// drop returns the DDL that removes a site's own tables, children first.
func (t legacyTables) drop() []string {
	return []string{
		"DROP TABLE IF EXISTS " + t.pages,
		"DROP TABLE IF EXISTS " + t.assets,
		"DROP TABLE IF EXISTS " + t.templates,
		"DROP TABLE IF EXISTS " + t.categories,
	}
}

// legacyPages reads every page of a site's own pages table (for
// addPageDigests, before the shared tables exist).
func legacyPages(ctx context.Context, q querier, t legacyTables) ([]*orchard.Page, error) {
	return sqlrows.List(ctx, q, scanPage, "SELECT "+pageColumns+" FROM "+t.pages)
}
