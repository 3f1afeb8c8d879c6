package mysql

import (
	"context"
	"database/sql"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlrows"
)

// nullable stores "" as NULL (no parent, no category).
func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// PutCategory creates or replaces a category.
func (d *DB) PutCategory(ctx context.Context, host string, c *orchard.Category) error {
	return d.putContent(ctx, host, c, func(tx *sql.Tx, id int64) error {
		if p := c.Parent(); p != "" {
			if err := mustExist(ctx, tx, orchard.Errorf(orchard.ENOTFOUND, "Parent category %q not found.", p),
				"SELECT 1 FROM orchard_categories WHERE site_id = ? AND path = ? LOCK IN SHARE MODE", id, p); err != nil {
				return err
			}
		}
		c.Created, c.Updated = stamp(c.Created), stamp(c.Updated)
		if err := mustBeFree(ctx, tx, orchard.Errorf(orchard.ECONFLICT, "A page already has the path %q.", c.Path),
			"SELECT 1 FROM orchard_pages WHERE site_id = ? AND path = ? LOCK IN SHARE MODE", id, c.Path); err != nil {
			return err
		}
		// Upsert first, then read Created back: a SELECT ... FOR UPDATE of
		// a missing row would take a gap lock that deadlocks concurrent
		// inserts.
		if err := putCategory(ctx, tx, id, c, true); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT created FROM orchard_categories WHERE site_id = ? AND path = ?", id, c.Path).Scan(&c.Created)
	})
}

func putCategory(ctx context.Context, tx *sql.Tx, id int64, c *orchard.Category, upsert bool) error {
	q := "INSERT INTO orchard_categories (site_id, path, parent, title, description, sort, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
	if upsert {
		q += " ON DUPLICATE KEY UPDATE title = VALUES(title), description = VALUES(description), sort = VALUES(sort), updated = VALUES(updated)"
	}
	_, err := tx.ExecContext(ctx, q, id, c.Path, nullable(c.Parent()), c.Title, c.Description, c.Sort, c.Created, c.Updated)
	if mysqlErrno(err) == errNoReferencedRow {
		return orchard.Errorf(orchard.ENOTFOUND, "Parent category %q not found.", c.Parent())
	}
	return err
}

const categoryColumns = "path, title, description, sort, created, updated"

func scanCategory(sc sqlrows.Scanner) (*orchard.Category, error) {
	c := &orchard.Category{}
	return c, sc.Scan(&c.Path, &c.Title, &c.Description, &c.Sort, &c.Created, &c.Updated)
}

// Category returns one category.
func (d *DB) Category(ctx context.Context, host, path string) (*orchard.Category, error) {
	return readRow(ctx, d, "Category", host, path, scanCategory,
		"SELECT "+categoryColumns+" FROM orchard_categories WHERE "+siteIs+" AND path = ?")
}

// Categories returns every category of a site, sorted by path.
func (d *DB) Categories(ctx context.Context, host string) ([]*orchard.Category, error) {
	return readRows(ctx, d, host, listCategories)
}

// listCategories lists the categories of site h, sorted by path.
func listCategories(ctx context.Context, q querier, h string) ([]*orchard.Category, error) {
	return sqlrows.List(ctx, q, scanCategory, "SELECT "+categoryColumns+" FROM orchard_categories WHERE "+siteIs+" ORDER BY path", h)
}

// DeleteCategory removes an empty category.
func (d *DB) DeleteCategory(ctx context.Context, host, path string) error {
	return d.updateContent(ctx, host, func(tx *sql.Tx, id int64) error {
		if err := mustExist(ctx, tx, notFound("Category", path),
			"SELECT 1 FROM orchard_categories WHERE site_id = ? AND path = ? FOR UPDATE", id, path); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM orchard_categories WHERE site_id = ? AND parent = ?", id, path).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return orchard.Errorf(orchard.ECONFLICT, "Category %q still has %d child categories.", path, n)
		}
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM orchard_pages WHERE site_id = ? AND category = ?", id, path).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return orchard.Errorf(orchard.ECONFLICT, "Category %q still has %d pages.", path, n)
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM orchard_categories WHERE site_id = ? AND path = ?", id, path)
		if mysqlErrno(err) == errRowIsReferenced {
			return orchard.Errorf(orchard.ECONFLICT, "Category %q is not empty.", path)
		}
		return err
	})
}
