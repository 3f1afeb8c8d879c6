package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlrows"
)

// PutAsset creates or replaces an asset; a zero Updated becomes now.
func (db *DB) PutAsset(ctx context.Context, host string, a *orchard.Asset) error {
	return db.putContent(ctx, host, a, func(tx *sql.Tx, id int64) error {
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

const assetColumns = `path, content_type, updated`

// scanAsset scans one assetColumns row.
func scanAsset(sc sqlrows.Scanner) (*orchard.Asset, error) {
	var a orchard.Asset
	var updated int64
	if err := sc.Scan(&a.Path, &a.ContentType, &updated); err != nil {
		return nil, err
	}
	a.Updated = timeFromDB(updated)
	return &a, nil
}

// scanAssetData scans one assetColumns row followed by the data.
func scanAssetData(sc sqlrows.Scanner) (*orchard.Asset, error) {
	var a orchard.Asset
	var updated int64
	if err := sc.Scan(&a.Path, &a.ContentType, &updated, &a.Data); err != nil {
		return nil, err
	}
	a.Updated = timeFromDB(updated)
	if a.Data == nil {
		a.Data = []byte{}
	}
	return &a, nil
}

// Asset returns the asset at path with its data.
func (db *DB) Asset(ctx context.Context, host, path string) (*orchard.Asset, error) {
	return readRow(ctx, db, "Asset", host, path, scanAssetData,
		`SELECT `+assetColumns+`, data FROM orchard_assets WHERE `+siteIs+` AND path = ?`)
}

// Assets lists the site's assets, sorted by path, without their Data.
func (db *DB) Assets(ctx context.Context, host string) ([]*orchard.Asset, error) {
	return readRows(ctx, db, host, func(ctx context.Context, q querier, h string) ([]*orchard.Asset, error) {
		return listAssets(ctx, q, h, false)
	})
}

// listAssets lists the assets of site h, sorted by path.
func listAssets(ctx context.Context, q querier, h string, withData bool) ([]*orchard.Asset, error) {
	if withData {
		return sqlrows.List(ctx, q, scanAssetData, `SELECT `+assetColumns+`, data FROM orchard_assets WHERE `+siteIs+` ORDER BY path`, h)
	}
	return sqlrows.List(ctx, q, scanAsset, `SELECT `+assetColumns+` FROM orchard_assets WHERE `+siteIs+` ORDER BY path`, h)
}

// DeleteAsset removes the asset at path.
func (db *DB) DeleteAsset(ctx context.Context, host, path string) error {
	return db.updateContent(ctx, host, func(tx *sql.Tx, id int64) error {
		return deleteRow(ctx, tx, notFound("Asset", path), `DELETE FROM orchard_assets WHERE site_id = ? AND path = ?`, id, path)
	})
}
