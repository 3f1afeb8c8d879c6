package mysql

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	orchard "github.com/orchardhq/orchard"
)

// canonical normalises a host argument. A host that is not even valid
// names no site: ENOTFOUND.
func canonical(host string) (string, tables, error) {
	h, err := orchard.NormalizeHost(host)
	if err != nil {
		return "", tables{}, siteNotFound(host)
	}
	t, err := tablesFor(h)
	if err != nil {
		return "", tables{}, siteNotFound(host)
	}
	return h, t, nil
}

func siteNotFound(host string) error {
	return orchard.Errorf(orchard.ENOTFOUND, "Site %q not found.", host)
}

// CreateSite creates the site's tables and registers it.
func (d *DB) CreateSite(ctx context.Context, s *orchard.Site) error {
	if err := s.Validate(); err != nil {
		return err
	}
	t, err := tablesFor(s.Host)
	if err != nil {
		return err
	}
	s.Prefix = t.prefix
	s.Created, s.Updated = stamp(s.Created), stamp(s.Updated)
	return d.withSiteLock(ctx, t, func(conn *sql.Conn) error {
		if err := d.checkHostsFree(ctx, conn, s, ""); err != nil {
			return err
		}
		if err := d.createSiteTables(ctx, conn, t); err != nil {
			return err
		}
		err := d.writeVia(ctx, conn, func(tx *sql.Tx) error { return insertSite(ctx, tx, s) })
		if err != nil {
			d.dropSiteTables(conn, t)
			return mapSiteConflict(err, s)
		}
		return nil
	})
}

// checkHostsFree returns ECONFLICT when the host, an alias or the table
// prefix of s belongs to a site other than except.
func (d *DB) checkHostsFree(ctx context.Context, q querier, s *orchard.Site, except string) error {
	for _, h := range append([]string{s.Host}, s.Aliases...) {
		var owner string
		err := q.QueryRowContext(ctx, "SELECT site FROM orchard_hosts WHERE host = ?", h).Scan(&owner)
		if err == nil && owner != except {
			if h == s.Host && owner == h {
				return orchard.Errorf(orchard.ECONFLICT, "Site %q already exists.", h)
			}
			return orchard.Errorf(orchard.ECONFLICT, "Host %q is already used by site %q.", h, owner)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("check host %s: %w", h, err)
		}
	}
	if except == "" {
		var owner string
		err := q.QueryRowContext(ctx, "SELECT host FROM orchard_sites WHERE prefix = ?", s.Prefix).Scan(&owner)
		if err == nil {
			return orchard.Errorf(orchard.ECONFLICT, "Site %q already uses the tables of %q.", owner, s.Host)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("check prefix: %w", err)
		}
	}
	return nil
}

// mapSiteConflict names the site in a duplicate-key conflict.
func mapSiteConflict(err error, s *orchard.Site) error {
	if orchard.ErrorCode(err) == orchard.ECONFLICT && orchard.ErrorMessage(err) == "It already exists." {
		return orchard.Errorf(orchard.ECONFLICT, "Site %q or one of its aliases is already registered.", s.Host)
	}
	return err
}

// createSiteTables drops what a crashed earlier attempt may have left (the
// caller holds the site lock and has checked the registry) and creates the
// site's tables.
func (d *DB) createSiteTables(ctx context.Context, conn *sql.Conn, t tables) error {
	var left int
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?, ?, ?, ?)",
		t.prefix+"_categories", t.prefix+"_pages", t.prefix+"_assets", t.prefix+"_templates").Scan(&left); err != nil {
		return fmt.Errorf("create tables %s_*: %w", t.prefix, err)
	}
	stmts := t.create()
	if left > 0 {
		stmts = append(t.drop(), stmts...)
	}
	for _, q := range stmts {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			d.dropSiteTables(conn, t)
			return fmt.Errorf("create tables %s_*: %w", t.prefix, explainDDL(err))
		}
	}
	d.noteWrite(ctx)
	return nil
}

// dropSiteTables removes a site's tables, even when ctx has ended.
func (d *DB) dropSiteTables(conn *sql.Conn, t tables) {
	ctx := context.Background()
	for _, q := range t.drop() {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			d.logger.Error("drop table", "prefix", t.prefix, "err", err)
		}
	}
	d.noteWrite(ctx)
}

func insertSite(ctx context.Context, tx *sql.Tx, s *orchard.Site) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO orchard_sites
		(host, prefix, title, description, scheme, cache_control, feed_size, created, updated, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.Host, s.Prefix, s.Title, s.Description, s.Scheme, s.CacheControl, s.FeedSize, s.Created, s.Updated, firstVersion()); err != nil {
		return err
	}
	if err := claimHosts(ctx, tx, s); err != nil {
		return err
	}
	return insertRedirects(ctx, tx, s)
}

func claimHosts(ctx context.Context, tx *sql.Tx, s *orchard.Site) error {
	for i, h := range append([]string{s.Host}, s.Aliases...) {
		if _, err := tx.ExecContext(ctx, "INSERT INTO orchard_hosts (host, site, pos) VALUES (?, ?, ?)", h, s.Host, i); err != nil {
			if mysqlErrno(err) == errDupEntry {
				return orchard.Errorf(orchard.ECONFLICT, "Host %q is already used by another site.", h)
			}
			return err
		}
	}
	return nil
}

// DropSite unregisters the site and drops its tables and users.
func (d *DB) DropSite(ctx context.Context, host string) error {
	h, t, err := canonical(host)
	if err != nil {
		return err
	}
	return d.withSiteLock(ctx, t, func(conn *sql.Conn) error {
		err := d.writeVia(ctx, conn, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, "DELETE FROM orchard_sites WHERE host = ?", h)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return siteNotFound(h)
			}
			for _, q := range []string{"DELETE FROM orchard_hosts WHERE site = ?", "DELETE FROM orchard_redirects WHERE site = ?"} {
				if _, err := tx.ExecContext(ctx, q, h); err != nil {
					return err
				}
			}
			_, err = tx.ExecContext(ctx, "DELETE FROM orchard_users WHERE site = ?", h)
			return err
		})
		if err != nil {
			return err
		}
		// The registry no longer names the site; its tables go now, or,
		// if this fails, at the next CreateSite of the same host.
		for _, q := range t.drop() {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("drop tables %s_*: %w", t.prefix, err)
			}
		}
		d.noteWrite(ctx)
		return nil
	})
}

// UpdateSite saves the site's settings and aliases.
func (d *DB) UpdateSite(ctx context.Context, s *orchard.Site) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if _, err := tablesFor(s.Host); err != nil {
		return err
	}
	return d.write(ctx, func(tx *sql.Tx) error { return updateSite(ctx, tx, s) })
}

func updateSite(ctx context.Context, tx *sql.Tx, s *orchard.Site) error {
	var prefix string
	err := tx.QueryRowContext(ctx, "SELECT prefix, created FROM orchard_sites WHERE host = ? FOR UPDATE", s.Host).Scan(&prefix, &s.Created)
	if errors.Is(err, sql.ErrNoRows) {
		return siteNotFound(s.Host)
	}
	if err != nil {
		return err
	}
	s.Prefix = prefix
	s.Updated = stamp(s.Updated)
	for _, a := range s.Aliases {
		var owner string
		err := tx.QueryRowContext(ctx, "SELECT site FROM orchard_hosts WHERE host = ? FOR UPDATE", a).Scan(&owner)
		if err == nil && owner != s.Host {
			return orchard.Errorf(orchard.ECONFLICT, "Host %q is already used by site %q.", a, owner)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orchard_sites SET title = ?, description = ?, scheme = ?,
		cache_control = ?, feed_size = ?, updated = ?, version = version + 1 WHERE host = ?`,
		s.Title, s.Description, s.Scheme, s.CacheControl, s.FeedSize, s.Updated, s.Host); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM orchard_hosts WHERE site = ?", s.Host); err != nil {
		return err
	}
	if err := claimHosts(ctx, tx, s); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM orchard_redirects WHERE site = ?", s.Host); err != nil {
		return err
	}
	return insertRedirects(ctx, tx, s)
}

// insertRedirects writes s.Redirects (validated: sorted, unique), many
// rows a statement.
func insertRedirects(ctx context.Context, tx *sql.Tx, s *orchard.Site) error {
	const batch = 500
	for start := 0; start < len(s.Redirects); start += batch {
		rs := s.Redirects[start:min(start+batch, len(s.Redirects))]
		var q strings.Builder
		q.WriteString("INSERT INTO orchard_redirects (site, from_hash, from_path, to_url) VALUES ")
		args := make([]any, 0, 4*len(rs))
		for i, r := range rs {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?)")
			h := sha256.Sum256([]byte(r.From))
			args = append(args, s.Host, h[:], r.From, r.To)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("redirects of %s: %w", s.Host, err)
		}
	}
	return nil
}

// eachRedirect runs query (which selects site, from_path, to_url) and calls
// fn for each row.
func eachRedirect(ctx context.Context, q querier, query string, args []any, fn func(site string, r orchard.Redirect)) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var site string
		var r orchard.Redirect
		if err := rows.Scan(&site, &r.From, &r.To); err != nil {
			return err
		}
		fn(site, r)
	}
	return rows.Err()
}

// querier is what both *sql.DB and *sql.Tx offer for reads.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const siteColumns = "host, prefix, title, description, scheme, cache_control, feed_size, created, updated"

func scanSite(sc interface{ Scan(...any) error }) (*orchard.Site, error) {
	s := &orchard.Site{}
	err := sc.Scan(&s.Host, &s.Prefix, &s.Title, &s.Description, &s.Scheme, &s.CacheControl, &s.FeedSize, &s.Created, &s.Updated)
	return s, err
}

// Site returns a site by its host.
func (d *DB) Site(ctx context.Context, host string) (*orchard.Site, error) {
	h, _, err := canonical(host)
	if err != nil {
		return nil, err
	}
	var s *orchard.Site
	err = d.read(ctx, func(db *sql.DB) error {
		var err error
		s, err = getSite(ctx, db, h)
		return err
	})
	return s, err
}

func getSite(ctx context.Context, q querier, host string) (*orchard.Site, error) {
	s, err := scanSite(q.QueryRowContext(ctx, "SELECT "+siteColumns+" FROM orchard_sites WHERE host = ?", host))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, siteNotFound(host)
	}
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", host, err)
	}
	rows, err := q.QueryContext(ctx, "SELECT host FROM orchard_hosts WHERE site = ? AND pos > 0 ORDER BY pos", host)
	if err != nil {
		return nil, fmt.Errorf("aliases of %s: %w", host, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		s.Aliases = append(s.Aliases, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Sorted by From as Validate sorts them: utf8mb4_bin compares bytes.
	err = eachRedirect(ctx, q, "SELECT site, from_path, to_url FROM orchard_redirects WHERE site = ? ORDER BY from_path",
		[]any{host}, func(_ string, r orchard.Redirect) { s.Redirects = append(s.Redirects, r) })
	if err != nil {
		return nil, fmt.Errorf("redirects of %s: %w", host, err)
	}
	return s, nil
}

// LookupHost returns the site whose host or alias is host.
func (d *DB) LookupHost(ctx context.Context, host string) (*orchard.Site, error) {
	h, err := orchard.NormalizeHost(host)
	if err != nil {
		return nil, orchard.Errorf(orchard.ENOTFOUND, "No site has the host %q.", host)
	}
	var s *orchard.Site
	err = d.read(ctx, func(db *sql.DB) error {
		var site string
		err := db.QueryRowContext(ctx, "SELECT site FROM orchard_hosts WHERE host = ?", h).Scan(&site)
		if errors.Is(err, sql.ErrNoRows) {
			return orchard.Errorf(orchard.ENOTFOUND, "No site has the host %q.", h)
		}
		if err != nil {
			return fmt.Errorf("lookup %s: %w", h, err)
		}
		s, err = getSite(ctx, db, site)
		return err
	})
	return s, err
}

// Sites returns every site, sorted by host.
func (d *DB) Sites(ctx context.Context) ([]*orchard.Site, error) {
	var out []*orchard.Site
	err := d.read(ctx, func(db *sql.DB) error {
		out = nil
		rows, err := db.QueryContext(ctx, "SELECT "+siteColumns+" FROM orchard_sites ORDER BY host")
		if err != nil {
			return fmt.Errorf("sites: %w", err)
		}
		defer rows.Close()
		byHost := map[string]*orchard.Site{}
		for rows.Next() {
			s, err := scanSite(rows)
			if err != nil {
				return err
			}
			out = append(out, s)
			byHost[s.Host] = s
		}
		if err := rows.Err(); err != nil {
			return err
		}
		arows, err := db.QueryContext(ctx, "SELECT host, site FROM orchard_hosts WHERE pos > 0 ORDER BY site, pos")
		if err != nil {
			return fmt.Errorf("aliases: %w", err)
		}
		defer arows.Close()
		for arows.Next() {
			var a, site string
			if err := arows.Scan(&a, &site); err != nil {
				return err
			}
			if s := byHost[site]; s != nil {
				s.Aliases = append(s.Aliases, a)
			}
		}
		if err := arows.Err(); err != nil {
			return err
		}
		return eachRedirect(ctx, db, "SELECT site, from_path, to_url FROM orchard_redirects ORDER BY site, from_path", nil,
			func(site string, r orchard.Redirect) {
				if s := byHost[site]; s != nil {
					s.Redirects = append(s.Redirects, r)
				}
			})
	})
	return out, err
}
