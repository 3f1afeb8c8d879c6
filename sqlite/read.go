package sqlite

import (
	"context"
	"database/sql"
	"errors"

	orchard "github.com/orchardhq/orchard"
)

// readSite runs fn on the read pool with the content of host without first
// looking the site up, the fast path for serving: fn's queries select the
// site with siteIs and h as its argument. When fn fails, it tells a
// missing site (ENOTFOUND for the site) from a missing item (fn returned
// sql.ErrNoRows: notFound) and from any other failure. A list finds no rows
// both for a missing site and for an empty one: its fn returns
// sql.ErrNoRows when it found none, with notFound nil.
func (db *DB) readSite(ctx context.Context, host string, notFound error, fn func(q querier, h string) error) error {
	h, err := orchard.NormalizeHost(host)
	if err != nil {
		return siteNotFound(host)
	}
	err = fn(db.read, h)
	if err == nil {
		return nil
	}
	if ok, e2 := siteExists(ctx, db.read, h); e2 == nil && !ok {
		return siteNotFound(h)
	}
	if errors.Is(err, sql.ErrNoRows) {
		if notFound == nil {
			return nil // an empty list of a site that exists
		}
		return notFound
	}
	return err
}

// siteIs is the condition that selects the rows of one site by its host,
// the query argument, for reads that do not know the site id: one query
// instead of two on the serving path. The primary keys start with site_id,
// so it is an index search.
const siteIs = `site_id = (SELECT id FROM orchard_sites WHERE host = ?)`

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }
