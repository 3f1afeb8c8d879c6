package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	orchard "github.com/orchardhq/orchard"
)

func categoryNotFound(path string) error {
	return orchard.Errorf(orchard.ENOTFOUND, "Category %q not found.", path)
}

// PutCategory creates or replaces a category; its parent must exist.
func (db *DB) PutCategory(ctx context.Context, host string, c *orchard.Category) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return db.updateContent(ctx, host, func(tx *sql.Tx, id int64) error {
		return db.putCategory(ctx, tx, id, c, true)
	})
}

// putCategory writes c; keep says whether an existing category's Created
// wins over c's.
func (db *DB) putCategory(ctx context.Context, tx *sql.Tx, id int64, c *orchard.Category, keep bool) error {
	if parent := c.Parent(); parent != "" {
		if ok, err := exists(ctx, tx, `SELECT COUNT(*) FROM orchard_categories WHERE site_id = ? AND path = ?`, id, parent); err != nil {
			return fmt.Errorf("sqlite: put category %s: %w", c.Path, err)
		} else if !ok {
			return orchard.Errorf(orchard.ENOTFOUND, "Parent category %q of %q not found.", parent, c.Path)
		}
	}
	if ok, err := exists(ctx, tx, `SELECT COUNT(*) FROM orchard_pages WHERE site_id = ? AND path = ?`, id, c.Path); err != nil {
		return fmt.Errorf("sqlite: put category %s: %w", c.Path, err)
	} else if ok {
		return orchard.Errorf(orchard.ECONFLICT, "A page already has the path %q.", c.Path)
	}
	if keep {
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT created FROM orchard_categories WHERE site_id = ? AND path = ?`, id, c.Path).Scan(&created)
		if err == nil {
			c.Created = timeFromDB(created)
		} else if !errors.Is(err, sql.ErrNoRows) {
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

// exists runs a COUNT(*) query and reports whether it counted anything.
func exists(ctx context.Context, q querier, query string, args ...any) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, query, args...).Scan(&n)
	return n > 0, err
}

const categoryColumns = `path, title, description, sort, created, updated`

func scanCategory(sc scanner) (*orchard.Category, error) {
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
	key := path
	if orchard.ValidateContentPath(path, true) != nil {
		key = "" // matches nothing; a missing site is still reported first
	}
	var c *orchard.Category
	err := db.readSite(ctx, host, categoryNotFound(path), func(q querier, h string) (err error) {
		c, err = scanCategory(q.QueryRowContext(ctx, `SELECT `+categoryColumns+` FROM orchard_categories WHERE `+siteIs+` AND path = ?`, h, key))
		return err
	})
	if err != nil {
		return nil, wrapRead("category "+path, err)
	}
	return c, nil
}

// Categories returns every category of the site, sorted by path.
func (db *DB) Categories(ctx context.Context, host string) ([]*orchard.Category, error) {
	var cs []*orchard.Category
	err := db.readSite(ctx, host, nil, func(q querier, h string) error {
		var err error
		if cs, err = listCategories(ctx, q, h); err == nil && len(cs) == 0 {
			return sql.ErrNoRows // see readSite
		}
		return err
	})
	if err != nil {
		return nil, wrapRead("categories", err)
	}
	return cs, nil
}

// listCategories lists the categories of site h, sorted by path.
func listCategories(ctx context.Context, q querier, h string) ([]*orchard.Category, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+categoryColumns+` FROM orchard_categories WHERE `+siteIs+` ORDER BY path`, h)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cs []*orchard.Category
	for rows.Next() {
		c, err := scanCategory(rows)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// DeleteCategory removes a category that holds no pages and no children.
func (db *DB) DeleteCategory(ctx context.Context, host, path string) error {
	return db.updateContent(ctx, host, func(tx *sql.Tx, id int64) error {
		if orchard.ValidateContentPath(path, true) != nil {
			return categoryNotFound(path)
		}
		if ok, err := exists(ctx, tx, `SELECT COUNT(*) FROM orchard_categories WHERE site_id = ? AND parent = ?`, id, path); err != nil {
			return fmt.Errorf("sqlite: delete category %s: %w", path, err)
		} else if ok {
			return orchard.Errorf(orchard.ECONFLICT, "Category %q still has child categories.", path)
		}
		if ok, err := exists(ctx, tx, `SELECT COUNT(*) FROM orchard_pages WHERE site_id = ? AND category = ?`, id, path); err != nil {
			return fmt.Errorf("sqlite: delete category %s: %w", path, err)
		} else if ok {
			return orchard.Errorf(orchard.ECONFLICT, "Category %q still has pages.", path)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM orchard_categories WHERE site_id = ? AND path = ?`, id, path)
		if err != nil {
			return fmt.Errorf("sqlite: delete category %s: %w", path, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return categoryNotFound(path)
		}
		return nil
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
