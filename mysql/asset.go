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
	h, t, err := canonical(host)
	if err != nil {
		return err
	}
	a.Updated = stamp(a.Updated)
	return d.updateContent(ctx, h, func(tx *sql.Tx) error { return putAsset(ctx, tx, t, a, true) })
}

func putAsset(ctx context.Context, tx *sql.Tx, t tables, a *orchard.Asset, upsert bool) error {
	q := "INSERT INTO " + t.assets + " (path, content_type, data, updated) VALUES (?, ?, ?, ?)"
	if upsert {
		q += " ON DUPLICATE KEY UPDATE content_type = VALUES(content_type), data = VALUES(data), updated = VALUES(updated)"
	}
	data := a.Data
	if data == nil {
		data = []byte{} // NOT NULL
	}
	_, err := tx.ExecContext(ctx, q, a.Path, a.ContentType, data, a.Updated)
	if mysqlErrno(err) == errPacketTooLarge {
		return fmt.Errorf("asset %s (%d bytes) is larger than the server's max_allowed_packet: raise it to 64M: %w", a.Path, len(a.Data), err)
	}
	return err
}

// Asset returns one asset with its data.
func (d *DB) Asset(ctx context.Context, host, path string) (*orchard.Asset, error) {
	_, t, err := canonical(host)
	if err != nil {
		return nil, err
	}
	a := &orchard.Asset{}
	err = d.read(ctx, func(db *sql.DB) error {
		err := db.QueryRowContext(ctx, "SELECT path, content_type, data, updated FROM "+t.assets+" WHERE path = ?", path).
			Scan(&a.Path, &a.ContentType, &a.Data, &a.Updated)
		if errors.Is(err, sql.ErrNoRows) {
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
	_, t, err := canonical(host)
	if err != nil {
		return nil, err
	}
	var out []*orchard.Asset
	err = d.read(ctx, func(db *sql.DB) error {
		var err error
		out, err = listAssets(ctx, db, t, false)
		return err
	})
	return out, err
}

func listAssets(ctx context.Context, q querier, t tables, withData bool) ([]*orchard.Asset, error) {
	cols := "path, content_type, updated"
	if withData {
		cols = "path, content_type, updated, data"
	}
	rows, err := q.QueryContext(ctx, "SELECT "+cols+" FROM "+t.assets+" ORDER BY path")
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
	h, t, err := canonical(host)
	if err != nil {
		return err
	}
	return d.updateContent(ctx, h, func(tx *sql.Tx) error {
		return deleteRow(ctx, tx, "DELETE FROM "+t.assets+" WHERE path = ?", path, "Asset %q not found.")
	})
}
