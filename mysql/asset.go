package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	orchard "github.com/orchardhq/orchard"
)

// PutAsset creates or replaces an asset.
func (d *DB) PutAsset(ctx context.Context, host string, a *orchard.Asset) error {
	if err := a.Validate(); err != nil {
		return err
	}
	h, err := canonical(host)
	if err != nil {
		return err
	}
	a.Updated = stamp(a.Updated)
	return d.updateContent(ctx, h, func(tx *sql.Tx, id int64) error { return putAsset(ctx, tx, id, a, true) })
}

func putAsset(ctx context.Context, tx *sql.Tx, id int64, a *orchard.Asset, upsert bool) error {
	q := "INSERT INTO orchard_assets (site_id, path, content_type, data, updated) VALUES (?, ?, ?, ?, ?)"
	if upsert {
		q += " ON DUPLICATE KEY UPDATE content_type = VALUES(content_type), data = VALUES(data), updated = VALUES(updated)"
	}
	data := a.Data
	if data == nil {
		data = []byte{} // NOT NULL
	}
	_, err := tx.ExecContext(ctx, q, id, a.Path, a.ContentType, data, a.Updated)
	if mysqlErrno(err) == errPacketTooLarge {
		return fmt.Errorf("asset %s (%d bytes) is larger than the server's max_allowed_packet: raise it to 64M: %w", a.Path, len(a.Data), err)
	}
	return err
}

// Asset returns one asset with its data.
func (d *DB) Asset(ctx context.Context, host, path string) (*orchard.Asset, error) {
	h, err := canonical(host)
	if err != nil {
		return nil, err
	}
	a := &orchard.Asset{}
	err = d.read(ctx, func(db *sql.DB) error {
		err := db.QueryRowContext(ctx, "SELECT path, content_type, data, updated FROM orchard_assets WHERE "+siteIs+" AND path = ?", h, path).
			Scan(&a.Path, &a.ContentType, &a.Data, &a.Updated)
		if errors.Is(err, sql.ErrNoRows) {
			if err := siteGone(ctx, db, h); err != nil {
				return err
			}
			return orchard.Errorf(orchard.ENOTFOUND, "Asset %q not found.", path)
		}
		return mapReadError(err)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Assets lists a site's assets without their data, sorted by path.
func (d *DB) Assets(ctx context.Context, host string) ([]*orchard.Asset, error) {
	h, err := canonical(host)
	if err != nil {
		return nil, err
	}
	var out []*orchard.Asset
	err = d.read(ctx, func(db *sql.DB) error {
		var err error
		if out, err = listAssets(ctx, db, h, false); err == nil && len(out) == 0 {
			err = siteGone(ctx, db, h)
		}
		return err
	})
	return out, err
}

// listAssets lists the assets of site h, sorted by path.
func listAssets(ctx context.Context, q querier, h string, withData bool) ([]*orchard.Asset, error) {
	cols := "path, content_type, updated"
	if withData {
		cols = "path, content_type, updated, data"
	}
	rows, err := q.QueryContext(ctx, "SELECT "+cols+" FROM orchard_assets WHERE "+siteIs+" ORDER BY path", h)
	if err != nil {
		return nil, mapReadError(err)
	}
	defer rows.Close()
	out := []*orchard.Asset{}
	for rows.Next() {
		a := &orchard.Asset{}
		dest := []any{&a.Path, &a.ContentType, &a.Updated}
		if withData {
			dest = append(dest, &a.Data)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("assets: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteAsset removes an asset.
func (d *DB) DeleteAsset(ctx context.Context, host, path string) error {
	h, err := canonical(host)
	if err != nil {
		return err
	}
	return d.updateContent(ctx, h, func(tx *sql.Tx, id int64) error {
		return deleteRow(ctx, tx, "DELETE FROM orchard_assets WHERE site_id = ? AND path = ?", id, path, "Asset %q not found.")
	})
}
