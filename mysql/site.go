package mysql

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlrows"
)

// canonical normalises a host argument. A host that is not even valid
// names no site: ENOTFOUND.
func canonical(host string) (string, error) {
	h, err := orchard.NormalizeHost(host)
	if err != nil {
		return "", siteNotFound(host)
	}
	return h, nil
}

func siteNotFound(host string) error {
	return orchard.Errorf(orchard.ENOTFOUND, "Site %q not found.", host)
}

// lockSite locks the registry row of site h for the transaction and
// returns the site's id; ENOTFOUND when h names no site.
func lockSite(ctx context.Context, tx *sql.Tx, h string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, "SELECT id FROM orchard_sites WHERE host = ? FOR UPDATE", h).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, siteNotFound(h)
	}
	return id, err
}

// siteGone returns ENOTFOUND for the site when h names none; reads call
// it when they found nothing, to tell a missing site from a missing item
// or an empty list.
func siteGone(ctx context.Context, q querier, h string) error {
	var one int
	err := q.QueryRowContext(ctx, "SELECT 1 FROM orchard_sites WHERE host = ?", h).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return siteNotFound(h)
	}
	return err
}

// CreateSite registers the site under a new site id.
func (d *DB) CreateSite(ctx context.Context, s *orchard.Site) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s.Prefix = orchard.TablePrefix(s.Host)
	s.Created, s.Updated = stamp(s.Created), stamp(s.Updated)
	return d.withSiteLock(ctx, s.Host, func(conn *sql.Conn) error {
		if err := d.checkHostsFree(ctx, conn, s, ""); err != nil {
			return err
		}
		err := d.writeVia(ctx, conn, func(tx *sql.Tx) error {
			_, err := insertSite(ctx, tx, s)
			return err
		})
		return mapSiteConflict(err, s)
	})
}

// checkHostsFree returns ECONFLICT when the host, an alias or the prefix
// of s belongs to a site other than except.
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
		// The prefix no longer names tables, but it is still unique
		// (orchard_sites_prefix) and what Site.Prefix reports.
		var owner string
		err := q.QueryRowContext(ctx, "SELECT host FROM orchard_sites WHERE prefix = ?", s.Prefix).Scan(&owner)
		if err == nil {
			return orchard.Errorf(orchard.ECONFLICT, "Site %q would share its prefix with %q.", s.Host, owner)
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

// insertSite registers s with its hosts and redirects and returns its new id.
func insertSite(ctx context.Context, tx *sql.Tx, s *orchard.Site) (int64, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO orchard_sites
		(host, prefix, title, description, scheme, cache_control, feed_size, created, updated, version, layout)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		s.Host, s.Prefix, s.Title, s.Description, s.Scheme, s.CacheControl, s.FeedSize, s.Created, s.Updated, firstVersion())
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	if err := claimHosts(ctx, tx, s); err != nil {
		return 0, err
	}
	return id, insertRedirects(ctx, tx, s)
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

// DropSite deletes the site's content, users and registration.
func (d *DB) DropSite(ctx context.Context, host string) error {
	h, err := canonical(host)
	if err != nil {
		return err
	}
	return d.withSiteLock(ctx, h, func(conn *sql.Conn) error {
		return d.writeVia(ctx, conn, func(tx *sql.Tx) error {
			id, err := lockSite(ctx, tx, h)
			if err != nil {
				return err
			}
			if err := deleteContent(ctx, tx, id); err != nil {
				return err
			}
			return sqlrows.ExecEach(ctx, tx, h,
				"DELETE FROM orchard_hosts WHERE site = ?",
				"DELETE FROM orchard_redirects WHERE site = ?",
				"DELETE FROM orchard_users WHERE site = ?",
				"DELETE FROM orchard_sites WHERE host = ?")
		})
	})
}

// deleteContent deletes every page, asset, template and category of site
// id. The site row's ON DELETE CASCADE would too, but InnoDB checks each
// deleted row's foreign keys at once, so pages must go before their
// categories and children before parents.
func deleteContent(ctx context.Context, tx *sql.Tx, id int64) error {
	return sqlrows.ExecEach(ctx, tx, id,
		"DELETE FROM orchard_pages WHERE site_id = ?",
		"DELETE FROM orchard_assets WHERE site_id = ?",
		"DELETE FROM orchard_templates WHERE site_id = ?",
		// Children before parents: a child's path is longer.
		"DELETE FROM orchard_categories WHERE site_id = ? ORDER BY CHAR_LENGTH(path) DESC")
}

// UpdateSite saves the site's settings and aliases.
func (d *DB) UpdateSite(ctx context.Context, s *orchard.Site) error {
	if err := s.Validate(); err != nil {
		return err
	}
	return d.write(ctx, func(tx *sql.Tx) error {
		_, err := updateSite(ctx, tx, s)
		return err
	})
}

// updateSite saves s's settings, aliases and redirects and returns its id.
func updateSite(ctx context.Context, tx *sql.Tx, s *orchard.Site) (int64, error) {
	id, err := updateSiteRow(ctx, tx, s)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM orchard_hosts WHERE site = ?", s.Host); err != nil {
		return 0, err
	}
	if err := claimHosts(ctx, tx, s); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM orchard_redirects WHERE site = ?", s.Host); err != nil {
		return 0, err
	}
	return id, insertRedirects(ctx, tx, s)
}

// updateSiteRow saves s's settings in its orchard_sites row (after checking
// its aliases are free) and returns its id.
func updateSiteRow(ctx context.Context, tx *sql.Tx, s *orchard.Site) (int64, error) {
	var prefix string
	var id int64
	err := tx.QueryRowContext(ctx, "SELECT id, prefix, created FROM orchard_sites WHERE host = ? FOR UPDATE", s.Host).Scan(&id, &prefix, &s.Created)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, siteNotFound(s.Host)
	}
	if err != nil {
		return 0, err
	}
	s.Prefix = prefix
	s.Updated = stamp(s.Updated)
	for _, a := range s.Aliases {
		var owner string
		err := tx.QueryRowContext(ctx, "SELECT site FROM orchard_hosts WHERE host = ? FOR UPDATE", a).Scan(&owner)
		if err == nil && owner != s.Host {
			return 0, orchard.Errorf(orchard.ECONFLICT, "Host %q is already used by site %q.", a, owner)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orchard_sites SET title = ?, description = ?, scheme = ?,
		cache_control = ?, feed_size = ?, updated = ?, version = version + 1 WHERE host = ?`,
		s.Title, s.Description, s.Scheme, s.CacheControl, s.FeedSize, s.Updated, s.Host); err != nil {
		return 0, err
	}
	return id, nil
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

// querier is what both *sql.DB and *sql.Tx offer for reads.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const siteColumns = "host, prefix, title, description, scheme, cache_control, feed_size, created, updated"

func scanSite(sc sqlrows.Scanner) (*orchard.Site, error) {
	s := &orchard.Site{}
	err := sc.Scan(&s.Host, &s.Prefix, &s.Title, &s.Description, &s.Scheme, &s.CacheControl, &s.FeedSize, &s.Created, &s.Updated)
	return s, err
}

// Site returns a site by its host.
func (d *DB) Site(ctx context.Context, host string) (*orchard.Site, error) {
	h, err := canonical(host)
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
	s.Aliases, err = sqlrows.List(ctx, q, sqlrows.String, "SELECT host FROM orchard_hosts WHERE site = ? AND pos > 0 ORDER BY pos", host)
	if err != nil {
		return nil, fmt.Errorf("aliases of %s: %w", host, err)
	}
	// Sorted by From as Validate sorts them: utf8mb4_bin compares bytes.
	err = sqlrows.EachRedirect(ctx, q, "SELECT site, from_path, to_url FROM orchard_redirects WHERE site = ? ORDER BY from_path",
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

// SitesMatching returns the sites whose host or an alias matches p: the
// candidates' hosts first (one scan of the host names, no site rows), then
// those sites.
func (d *DB) SitesMatching(ctx context.Context, p orchard.HostPattern) ([]*orchard.Site, error) {
	var sites []*orchard.Site
	every := false
	err := d.read(ctx, func(db *sql.DB) error {
		var err error
		sites, every, err = sqlrows.SitesMatching(ctx, db, p,
			`SELECT DISTINCT site FROM orchard_hosts WHERE host LIKE ? ORDER BY site`, p.Like(),
			func(h string) (*orchard.Site, error) { return getSite(ctx, db, h) })
		if err != nil {
			return fmt.Errorf("sites matching %q: %w", p, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if every {
		all, err := d.Sites(ctx)
		return p.Filter(all), err
	}
	return sites, nil
}

// Sites returns every site, sorted by host.
func (d *DB) Sites(ctx context.Context) ([]*orchard.Site, error) {
	var out []*orchard.Site
	err := d.read(ctx, func(db *sql.DB) error {
		var err error
		if out, err = sqlrows.List(ctx, db, scanSite, "SELECT "+siteColumns+" FROM orchard_sites ORDER BY host"); err != nil {
			return fmt.Errorf("sites: %w", err)
		}
		byHost := map[string]*orchard.Site{}
		for _, s := range out {
			byHost[s.Host] = s
		}
		err = sqlrows.Each(ctx, db, func(sc sqlrows.Scanner) error {
			var a, site string
			if err := sc.Scan(&a, &site); err != nil {
				return err
			}
			if s := byHost[site]; s != nil {
				s.Aliases = append(s.Aliases, a)
			}
			return nil
		}, "SELECT host, site FROM orchard_hosts WHERE pos > 0 ORDER BY site, pos")
		if err != nil {
			return fmt.Errorf("aliases: %w", err)
		}
		return sqlrows.EachRedirect(ctx, db, "SELECT site, from_path, to_url FROM orchard_redirects ORDER BY site, from_path", nil,
			func(site string, r orchard.Redirect) {
				if s := byHost[site]; s != nil {
					s.Redirects = append(s.Redirects, r)
				}
			})
	})
	return out, err
}
