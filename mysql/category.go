package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	orchard "github.com/orchardhq/orchard"
)

// nullable stores "" as NULL (no parent, no category).
func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// PutCategory creates or replaces a category.
func (d *DB) PutCategory(ctx context.Context, host string, c *orchard.Category) error {
	if err := c.Validate(); err != nil {
		return err
	}
	h, err := canonical(host)
	if err != nil {
		return err
	}
	return d.updateContent(ctx, h, func(tx *sql.Tx, id int64) error {
		if p := c.Parent(); p != "" {
			if err := mustExist(ctx, tx, "SELECT 1 FROM orchard_categories WHERE site_id = ? AND path = ? LOCK IN SHARE MODE", id, p); err != nil {
				if orchard.ErrorCode(err) == orchard.ENOTFOUND {
					return orchard.Errorf(orchard.ENOTFOUND, "Parent category %q not found.", p)
				}
				return err
			}
		}
		c.Created, c.Updated = stamp(c.Created), stamp(c.Updated)
		if err := mustBeFree(ctx, tx, "SELECT 1 FROM orchard_pages WHERE site_id = ? AND path = ? LOCK IN SHARE MODE", id, c.Path); err != nil {
			if orchard.ErrorCode(err) == orchard.ECONFLICT {
				return orchard.Errorf(orchard.ECONFLICT, "A page already has the path %q.", c.Path)
			}
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

// mustExist returns ENOTFOUND unless the query selects a row.
func mustExist(ctx context.Context, q querier, query string, args ...any) error {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return orchard.Errorf(orchard.ENOTFOUND, "Not found.")
	}
	return mapReadError(err)
}

// mustBeFree returns an error when the query selects a row.
func mustBeFree(ctx context.Context, q querier, query string, args ...any) error {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return mapReadError(err)
	}
	return orchard.Errorf(orchard.ECONFLICT, "Taken.")
}

const categoryColumns = "path, title, description, sort, created, updated"

func scanCategory(sc interface{ Scan(...any) error }) (*orchard.Category, error) {
	c := &orchard.Category{}
	return c, sc.Scan(&c.Path, &c.Title, &c.Description, &c.Sort, &c.Created, &c.Updated)
}

// Category returns one category.
func (d *DB) Category(ctx context.Context, host, path string) (*orchard.Category, error) {
	h, err := canonical(host)
	if err != nil {
		return nil, err
	}
	var c *orchard.Category
	err = d.read(ctx, func(db *sql.DB) error {
		var err error
		c, err = scanCategory(db.QueryRowContext(ctx, "SELECT "+categoryColumns+" FROM orchard_categories WHERE "+siteIs+" AND path = ?", h, path))
		if errors.Is(err, sql.ErrNoRows) {
			if err := siteGone(ctx, db, h); err != nil {
				return err
			}
			return orchard.Errorf(orchard.ENOTFOUND, "Category %q not found.", path)
		}
		return mapReadError(err)
	})
	return c, err
}

// Categories returns every category of a site, sorted by path.
func (d *DB) Categories(ctx context.Context, host string) ([]*orchard.Category, error) {
	h, err := canonical(host)
	if err != nil {
		return nil, err
	}
	var out []*orchard.Category
	err = d.read(ctx, func(db *sql.DB) error {
		var err error
		if out, err = listCategories(ctx, db, h); err == nil && len(out) == 0 {
			err = siteGone(ctx, db, h)
		}
		return err
	})
	return out, err
}

// listCategories lists the categories of site h, sorted by path.
func listCategories(ctx context.Context, q querier, h string) ([]*orchard.Category, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+categoryColumns+" FROM orchard_categories WHERE "+siteIs+" ORDER BY path", h)
	if err != nil {
		return nil, mapReadError(err)
	}
	defer rows.Close()
	out := []*orchard.Category{}
	for rows.Next() {
		c, err := scanCategory(rows)
		if err != nil {
			return nil, fmt.Errorf("categories: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteCategory removes an empty category.
func (d *DB) DeleteCategory(ctx context.Context, host, path string) error {
	h, err := canonical(host)
	if err != nil {
		return err
	}
	return d.updateContent(ctx, h, func(tx *sql.Tx, id int64) error {
		if err := mustExist(ctx, tx, "SELECT 1 FROM orchard_categories WHERE site_id = ? AND path = ? FOR UPDATE", id, path); err != nil {
			if orchard.ErrorCode(err) == orchard.ENOTFOUND {
				return orchard.Errorf(orchard.ENOTFOUND, "Category %q not found.", path)
			}
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
