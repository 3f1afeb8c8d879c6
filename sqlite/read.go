package sqlite

import (
	"context"
	"database/sql"
	"errors"

	orchard "github.com/orchardhq/orchard"
)

// readSite runs fn on the read pool against the tables of host without first
// looking the site up, the fast path for serving. When fn fails, it tells a
// missing site (ENOTFOUND for the site) from a missing item (fn returned
// sql.ErrNoRows: notFound) and from any other failure.
func (db *DB) readSite(ctx context.Context, host string, notFound error, fn func(q querier, h string, t tables) error) error {
	h, err := orchard.NormalizeHost(host)
	if err != nil {
		return siteNotFound(host)
	}
	err = fn(db.read, h, tablesFor(h))
	if err == nil {
		return nil
	}
	if ok, e2 := siteExists(ctx, db.read, h); e2 == nil && !ok {
		return siteNotFound(h)
	}
	if errors.Is(err, sql.ErrNoRows) && notFound != nil {
		return notFound
	}
	return err
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }
