package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlrows"
)

// PutCategory creates or replaces a category; its parent must exist.
func (db *DB) PutCategory(ctx context.Context, host string, c *orchard.Category) error {
	return db.putContent(ctx, host, c, func(tx *sql.Tx, id int64) error {
		return db.putCategory(ctx, tx, id, c, true)
	})
}

// putCategory writes c; keep says whether an existing category's Created
// wins over c's.
func (db *DB) putCategory(ctx context.Context, tx *sql.Tx, id int64, c *orchard.Category, keep bool) error {
	if parent := c.Parent(); parent != "" {
		if err := mustExist(ctx, tx, orchard.Errorf(orchard.ENOTFOUND, "Parent category %q of %q not found.", parent, c.Path),
			`SELECT COUNT(*) FROM orchard_categories WHERE site_id = ? AND path = ?`, id, parent); err != nil {
			return err
		}
	}
	if err := mustBeFree(ctx, tx, orchard.Errorf(orchard.ECONFLICT, "A page already has the path %q.", c.Path),
		`SELECT COUNT(*) FROM orchard_pages WHERE site_id = ? AND path = ?`, id, c.Path); err != nil {
		return err
	}
	if keep {
		if err := keepCreated(ctx, tx, &c.Created, `SELECT created FROM orchard_categories WHERE site_id = ? AND path = ?`, id, c.Path); err != nil {
			return fmt.Errorf("sqlite: put category %s: %w", c.Path, err)
		}
	}
	db.stamp2(&c.Created, &c.Updated)
	_, err := tx.ExecContext(ctx, `INSERT INTO orchard_categories (site_id, path, parent, title, description, sort, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (site_id, path) DO UPDATE SET title = excluded.title, description = excluded.description,
			sort = excluded.sort, created = excluded.created, updated = excluded.updated`,
		id, c.Path, nullString(c.Parent()), c.Title, c.Description, c.Sort, timeToDB(c.Created), timeToDB(c.Updated))
	if err != nil {
		return fmt.Errorf("sqlite: put category %s: %w", c.Path, err)
	}
	return nil
}

const categoryColumns = `path, title, description, sort, created, updated`

func scanCategory(sc sqlrows.Scanner) (*orchard.Category, error) {
	var c orchard.Category
	var created, updated int64
	if err := sc.Scan(&c.Path, &c.Title, &c.Description, &c.Sort, &created, &updated); err != nil {
		return nil, err
	}
	c.Created, c.Updated = timeFromDB(created), timeFromDB(updated)
	return &c, nil
}

// Category returns the category at path.
func (db *DB) Category(ctx context.Context, host, path string) (*orchard.Category, error) {
	return readRow(ctx, db, "Category", host, path, scanCategory,
		`SELECT `+categoryColumns+` FROM orchard_categories WHERE `+siteIs+` AND path = ?`)
}

// Categories returns every category of the site, sorted by path.
func (db *DB) Categories(ctx context.Context, host string) ([]*orchard.Category, error) {
	return readRows(ctx, db, host, listCategories)
}

// listCategories lists the categories of site h, sorted by path.
func listCategories(ctx context.Context, q querier, h string) ([]*orchard.Category, error) {
	return sqlrows.List(ctx, q, scanCategory, `SELECT `+categoryColumns+` FROM orchard_categories WHERE `+siteIs+` ORDER BY path`, h)
}

// DeleteCategory removes a category that holds no pages and no children.
func (db *DB) DeleteCategory(ctx context.Context, host, path string) error {
	return db.updateContent(ctx, host, func(tx *sql.Tx, id int64) error {
		if orchard.ValidateContentPath(path, true) != nil {
			return notFound("Category", path)
		}
		if err := mustBeFree(ctx, tx, orchard.Errorf(orchard.ECONFLICT, "Category %q still has child categories.", path),
			`SELECT COUNT(*) FROM orchard_categories WHERE site_id = ? AND parent = ?`, id, path); err != nil {
			return err
		}
		if err := mustBeFree(ctx, tx, orchard.Errorf(orchard.ECONFLICT, "Category %q still has pages.", path),
			`SELECT COUNT(*) FROM orchard_pages WHERE site_id = ? AND category = ?`, id, path); err != nil {
			return err
		}
		return deleteRow(ctx, tx, notFound("Category", path), `DELETE FROM orchard_categories WHERE site_id = ? AND path = ?`, id, path)
	})
}

// wrapRead adds context to internal errors and leaves *orchard.Error alone.
func wrapRead(what string, err error) error {
	var e *orchard.Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("sqlite: %s: %w", what, err)
}
