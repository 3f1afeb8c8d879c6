package mysql

import (
	"context"
	"database/sql"
	"fmt"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlrows"
)

// PutAsset creates or replaces an asset.
func (d *DB) PutAsset(ctx context.Context, host string, a *orchard.Asset) error {
	return d.putContent(ctx, host, a, func(tx *sql.Tx, id int64) error {
		a.Updated = stamp(a.Updated)
		return putAsset(ctx, tx, id, a, true)
	})
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

const assetColumns = "path, content_type, updated"

// scanAsset scans one assetColumns row.
func scanAsset(sc sqlrows.Scanner) (*orchard.Asset, error) {
	a := &orchard.Asset{}
	return a, sc.Scan(&a.Path, &a.ContentType, &a.Updated)
}

// scanAssetData scans one assetColumns row followed by the data.
func scanAssetData(sc sqlrows.Scanner) (*orchard.Asset, error) {
	a := &orchard.Asset{}
	return a, sc.Scan(&a.Path, &a.ContentType, &a.Updated, &a.Data)
}

// Asset returns one asset with its data.
func (d *DB) Asset(ctx context.Context, host, path string) (*orchard.Asset, error) {
	return readRow(ctx, d, "Asset", host, path, scanAssetData,
		"SELECT "+assetColumns+", data FROM orchard_assets WHERE "+siteIs+" AND path = ?")
}

// Assets lists a site's assets without their data, sorted by path.
func (d *DB) Assets(ctx context.Context, host string) ([]*orchard.Asset, error) {
	return readRows(ctx, d, host, func(ctx context.Context, q querier, h string) ([]*orchard.Asset, error) {
		return listAssets(ctx, q, h, false)
	})
}

// listAssets lists the assets of site h, sorted by path.
func listAssets(ctx context.Context, q querier, h string, withData bool) ([]*orchard.Asset, error) {
	if withData {
		return sqlrows.List(ctx, q, scanAssetData, "SELECT "+assetColumns+", data FROM orchard_assets WHERE "+siteIs+" ORDER BY path", h)
	}
	return sqlrows.List(ctx, q, scanAsset, "SELECT "+assetColumns+" FROM orchard_assets WHERE "+siteIs+" ORDER BY path", h)
}

// DeleteAsset removes an asset.
func (d *DB) DeleteAsset(ctx context.Context, host, path string) error {
	return d.updateContent(ctx, host, func(tx *sql.Tx, id int64) error {
		return deleteRow(ctx, tx, notFound("Asset", path), "DELETE FROM orchard_assets WHERE site_id = ? AND path = ?", id, path)
	})
}
