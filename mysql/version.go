package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"

	orchard "github.com/orchardhq/orchard"
)

// SiteVersion returns the canonical host of the site whose host or alias is
// host and its content version (orchard_sites.version), in one query.
func (d *DB) SiteVersion(ctx context.Context, host string) (string, int64, error) {
	h, err := orchard.NormalizeHost(host)
	if err != nil {
		return "", 0, siteNotFound(host)
	}
	var site string
	var v int64
	err = d.read(ctx, func(db *sql.DB) error {
		// A missing host is answered inside fn, as an orchard error, so
		// that read does not take it for a failing replica.
		err := db.QueryRowContext(ctx, "SELECT s.host, s.version FROM orchard_hosts h"+
			" JOIN orchard_sites s ON s.host = h.site WHERE h.host = ?", h).Scan(&site, &v)
		if errors.Is(err, sql.ErrNoRows) {
			return siteNotFound(h)
		} else if err != nil {
			return fmt.Errorf("site version %s: %w", h, err)
		}
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	return site, v, nil
}

// updateContent is write for a change to the content of site host (fn
// gets its id; ENOTFOUND when host names no site): the same transaction
// changes the site's content version (see SiteVersion). It does so first,
// so that every content write locks the site's registry row before its
// content rows, in the order UpdateSite and ReplaceSite take them.
func (d *DB) updateContent(ctx context.Context, host string, fn func(tx *sql.Tx, id int64) error) error {
	h, err := canonical(host)
	if err != nil {
		return err
	}
	return d.write(ctx, func(tx *sql.Tx) error {
		id, err := lockSite(ctx, tx, h)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE orchard_sites SET version = version + 1 WHERE id = ?", id); err != nil {
			return err
		}
		return fn(tx, id)
	})
}

// putContent validates v and then writes it with put, in updateContent.
func (d *DB) putContent(ctx context.Context, host string, v interface{ Validate() error }, put func(tx *sql.Tx, id int64) error) error {
	if err := v.Validate(); err != nil {
		return err
	}
	return d.updateContent(ctx, host, put)
}

// firstVersion is a new site's content version: random, so that a site
// dropped and created again under the same host (whose old versions a
// reader may still hold) does not count up from where it did before.
func firstVersion() int64 { return rand.Int64N(1 << 62) }

// addSiteVersion adds orchard_sites.version; it can run again after a
// crash (a column already there is kept). Existing sites count from 0.
func addSiteVersion(ctx context.Context, conn *sql.Conn) error {
	return addColumn(ctx, conn, "orchard_sites", "version", "ALTER TABLE orchard_sites ADD COLUMN version BIGINT NOT NULL DEFAULT 0")
}
