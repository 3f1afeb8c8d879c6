package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	orchard "github.com/orchardhq/orchard"
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
}

// goMigrations are the migrations done in Go rather than one statement.
var goMigrations = map[int]func(ctx context.Context, conn *sql.Conn) error{
	4: addPageDigests,
	5: addSiteVersion,
}

// addPageDigests adds the digest column (orchard.Page.ContentDigest) to the
// pages table of every existing site and computes it for every page. Each
// step can run again after a crash: a column already there is kept, and
// only empty digests are computed.
func addPageDigests(ctx context.Context, conn *sql.Conn) error {
	rows, err := conn.QueryContext(ctx, "SELECT host FROM orchard_sites ORDER BY host")
	if err != nil {
		return err
	}
	var hosts []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return err
		}
		hosts = append(hosts, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, h := range hosts {
		t, err := tablesFor(h)
		if err != nil {
			return err
		}
		var n int
		if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.COLUMNS"+
			" WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'digest'", t.prefix+"_pages").Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := conn.ExecContext(ctx, "ALTER TABLE "+t.pages+" ADD COLUMN digest CHAR(64) NOT NULL DEFAULT ''"); err != nil {
				return fmt.Errorf("site %s: %w", h, err)
			}
		}
		ps, err := listPages(ctx, conn, t, orchard.PageFilter{})
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

// tables are the quoted names of one site's tables.
type tables struct {
	prefix                               string
	categories, pages, assets, templates string
}

// tablesFor returns the tables of a canonical host. The names come only
// from orchard.TablePrefix and fixed suffixes; the check below is a second
// fence in case TablePrefix ever changed.
func tablesFor(host string) (tables, error) {
	p := orchard.TablePrefix(host)
	for i := 0; i < len(p); i++ {
		if c := p[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return tables{}, orchard.Errorf(orchard.EINVALID, "Host %q gives an unusable table prefix.", host)
		}
	}
	if len(p)+len("_categories") > 64 {
		return tables{}, orchard.Errorf(orchard.EINVALID, "Host %q gives a table prefix that is too long.", host)
	}
	q := func(suffix string) string { return "`" + p + suffix + "`" }
	return tables{prefix: p, categories: q("_categories"), pages: q("_pages"), assets: q("_assets"), templates: q("_templates")}, nil
}

// create returns the DDL of a site's tables, parents first.
func (t tables) create() []string {
	return []string{
		`CREATE TABLE ` + t.categories + ` (
			path        VARCHAR(512) NOT NULL,
			parent      VARCHAR(512) NULL,
			title       VARCHAR(200) NOT NULL,
			description MEDIUMTEXT   NOT NULL,
			sort        INT          NOT NULL,
			created     DATETIME(6)  NOT NULL,
			updated     DATETIME(6)  NOT NULL,
			PRIMARY KEY (path),
			KEY parent (parent),
			FOREIGN KEY (parent) REFERENCES ` + t.categories + ` (path)
		)` + tableOptions,
		`CREATE TABLE ` + t.pages + ` (
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
			FOREIGN KEY (category) REFERENCES ` + t.categories + ` (path)
		)` + tableOptions,
		`CREATE TABLE ` + t.assets + ` (
			path         VARCHAR(512) NOT NULL,
			content_type VARCHAR(100) NOT NULL,
			data         LONGBLOB     NOT NULL,
			updated      DATETIME(6)  NOT NULL,
			PRIMARY KEY (path)
		)` + tableOptions,
		`CREATE TABLE ` + t.templates + ` (
			name    VARCHAR(128) NOT NULL,
			body    MEDIUMTEXT   NOT NULL,
			updated DATETIME(6)  NOT NULL,
			PRIMARY KEY (name)
		)` + tableOptions,
	}
}

// drop returns the DDL that removes a site's tables, children first.
func (t tables) drop() []string {
	return []string{
		"DROP TABLE IF EXISTS " + t.pages,
		"DROP TABLE IF EXISTS " + t.assets,
		"DROP TABLE IF EXISTS " + t.templates,
		"DROP TABLE IF EXISTS " + t.categories,
	}
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
