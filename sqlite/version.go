package sqlite

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
func (db *DB) SiteVersion(ctx context.Context, host string) (string, int64, error) {
	h, err := orchard.NormalizeHost(host)
	if err != nil {
		return "", 0, siteNotFound(host)
	}
	var site string
	var v int64
	err = db.siteVersion.QueryRowContext(ctx, h).Scan(&site, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, siteNotFound(h)
	} else if err != nil {
		return "", 0, fmt.Errorf("sqlite: site version %s: %w", h, err)
	}
	return site, v, nil
}

// siteVersionQuery is SiteVersion's query (prepared by Open).
const siteVersionQuery = `SELECT s.host, s.version FROM orchard_hosts h
	JOIN orchard_sites s ON s.host = h.site WHERE h.name = ?`

// updateContent runs fn in a write transaction on the content of site host
// (fn gets its id) and, when fn succeeds, changes the site's content version in the same
// transaction, so that a reader of SiteVersion sees the change with it.
func (db *DB) updateContent(ctx context.Context, host string, fn func(tx *sql.Tx, id int64) error) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		h, id, err := siteID(ctx, tx, host)
		if err != nil {
			return err
		}
		if err := fn(tx, id); err != nil {
			return err
		}
		return bumpVersion(ctx, tx, h)
	})
}

// bumpVersion changes the content version of site h.
func bumpVersion(ctx context.Context, tx *sql.Tx, h string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE orchard_sites SET version = version + 1 WHERE host = ?`, h); err != nil {
		return fmt.Errorf("sqlite: site %s: version: %w", h, err)
	}
	return nil
}

// putContent validates v and then writes it with put, in updateContent.
func (db *DB) putContent(ctx context.Context, host string, v interface{ Validate() error }, put func(tx *sql.Tx, id int64) error) error {
	if err := v.Validate(); err != nil {
		return err
	}
	return db.updateContent(ctx, host, put)
}

// firstVersion is a new site's content version: random, so that a site
// dropped and created again under the same host (whose old versions a
// reader may still hold) does not count up from where it did before.
func firstVersion() int64 { return rand.Int64N(1 << 62) }
