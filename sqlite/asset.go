package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	orchard "github.com/orchardhq/orchard"
)

func assetNotFound(path string) error {
	return orchard.Errorf(orchard.ENOTFOUND, "Asset %q not found.", path)
}

// PutAsset creates or replaces an asset; a zero Updated becomes now.
func (db *DB) PutAsset(ctx context.Context, host string, a *orchard.Asset) error {
	if err := a.Validate(); err != nil {
		return err
	}
	return db.updateContent(ctx, host, func(tx *sql.Tx, id int64) error {
		return db.putAsset(ctx, tx, id, a)
	})
}

func (db *DB) putAsset(ctx context.Context, tx *sql.Tx, id int64, a *orchard.Asset) error {
	a.Updated = db.stamp(a.Updated)
	data := a.Data
	if data == nil {
		data = []byte{} // NOT NULL
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO orchard_assets (site_id, path, content_type, data, updated) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (site_id, path) DO UPDATE SET content_type = excluded.content_type, data = excluded.data,
			updated = excluded.updated`,
		id, a.Path, a.ContentType, data, timeToDB(a.Updated))
	if err != nil {
		return fmt.Errorf("sqlite: put asset %s: %w", a.Path, err)
	}
	return nil
}

// Asset returns the asset at path with its data.
func (db *DB) Asset(ctx context.Context, host, path string) (*orchard.Asset, error) {
	var a orchard.Asset
	err := db.readSite(ctx, host, assetNotFound(path), func(q querier, h string) error {
		var updated int64
		err := q.QueryRowContext(ctx, `SELECT path, content_type, data, updated FROM orchard_assets WHERE `+siteIs+` AND path = ?`, h, path).
			Scan(&a.Path, &a.ContentType, &a.Data, &updated)
		a.Updated = timeFromDB(updated)
		return err
	})
	if err != nil {
		return nil, wrapRead("asset "+path, err)
	}
	if a.Data == nil {
		a.Data = []byte{}
	}
	return &a, nil
}

// Assets lists the site's assets, sorted by path, without their Data.
func (db *DB) Assets(ctx context.Context, host string) ([]*orchard.Asset, error) {
	var as []*orchard.Asset
	err := db.readSite(ctx, host, nil, func(q querier, h string) error {
		rows, err := q.QueryContext(ctx, `SELECT path, content_type, updated FROM orchard_assets WHERE `+siteIs+` ORDER BY path`, h)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a orchard.Asset
			var updated int64
			if err := rows.Scan(&a.Path, &a.ContentType, &updated); err != nil {
				return err
			}
			a.Updated = timeFromDB(updated)
			as = append(as, &a)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(as) == 0 {
			return sql.ErrNoRows // see readSite
		}
		return nil
	})
	if err != nil {
		return nil, wrapRead("assets", err)
	}
	return as, nil
}

// DeleteAsset removes the asset at path.
func (db *DB) DeleteAsset(ctx context.Context, host, path string) error {
	return db.updateContent(ctx, host, func(tx *sql.Tx, id int64) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM orchard_assets WHERE site_id = ? AND path = ?`, id, path)
		if err != nil {
			return fmt.Errorf("sqlite: delete asset %s: %w", path, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return assetNotFound(path)
		}
		return nil
	})
}
