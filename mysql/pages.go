package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	orchard "github.com/orchardhq/orchard"
)

// PutPage creates or replaces the page at p.Path, keeping Created of an
// existing page.
func (d *DB) PutPage(ctx context.Context, host string, p *orchard.Page) error {
	if err := p.Validate(); err != nil {
		return err
	}
	_, t, err := canonical(host)
	if err != nil {
		return err
	}
	return d.write(ctx, func(tx *sql.Tx) error {
		if p.Category != "" {
			if err := mustExist(ctx, tx, "SELECT 1 FROM "+t.categories+" WHERE path = ? LOCK IN SHARE MODE", p.Category); err != nil {
				if orchard.ErrorCode(err) == orchard.ENOTFOUND {
					return orchard.Errorf(orchard.ENOTFOUND, "Category %q not found.", p.Category)
				}
				return err
			}
		}
		p.Created, p.Updated = stamp(p.Created), stamp(p.Updated)
		if err := mustBeFree(ctx, tx, "SELECT 1 FROM "+t.categories+" WHERE path = ? LOCK IN SHARE MODE", p.Path); err != nil {
			if orchard.ErrorCode(err) == orchard.ECONFLICT {
				return orchard.Errorf(orchard.ECONFLICT, "A category already has the path %q.", p.Path)
			}
			return err
		}
		// Upsert first, then read Created back (see PutCategory).
		if err := insertPage(ctx, tx, t, p, true); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT created FROM "+t.pages+" WHERE path = ?", p.Path).Scan(&p.Created)
	})
}

func insertPage(ctx context.Context, tx *sql.Tx, t tables, p *orchard.Page, upsert bool) error {
	q := "INSERT INTO " + t.pages + " (path, title, category, layout, format, body, description, published, created, updated)" +
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	if upsert {
		q += " ON DUPLICATE KEY UPDATE title = VALUES(title), category = VALUES(category), layout = VALUES(layout)," +
			" format = VALUES(format), body = VALUES(body), description = VALUES(description)," +
			" published = VALUES(published), updated = VALUES(updated)"
	}
	_, err := tx.ExecContext(ctx, q, p.Path, p.Title, nullable(p.Category), p.Layout, p.Format, p.Body, p.Description,
		p.Published, p.Created, p.Updated)
	if mysqlErrno(err) == errNoReferencedRow {
		return orchard.Errorf(orchard.ENOTFOUND, "Category %q not found.", p.Category)
	}
	return err
}

const pageColumns = "path, title, category, layout, format, body, description, published, created, updated"

func scanPage(sc interface{ Scan(...any) error }) (*orchard.Page, error) {
	p := &orchard.Page{}
	var cat sql.NullString
	err := sc.Scan(&p.Path, &p.Title, &cat, &p.Layout, &p.Format, &p.Body, &p.Description, &p.Published, &p.Created, &p.Updated)
	p.Category = cat.String
	return p, err
}

// Page returns one page.
func (d *DB) Page(ctx context.Context, host, path string) (*orchard.Page, error) {
	_, t, err := canonical(host)
	if err != nil {
		return nil, err
	}
	var p *orchard.Page
	err = d.read(ctx, func(db *sql.DB) error {
		var err error
		p, err = scanPage(db.QueryRowContext(ctx, "SELECT "+pageColumns+" FROM "+t.pages+" WHERE path = ?", path))
		if errors.Is(err, sql.ErrNoRows) {
			return orchard.Errorf(orchard.ENOTFOUND, "Page %q not found.", path)
		}
		return mapReadError(err)
	})
	return p, err
}

// Pages returns the pages f selects, sorted by path.
func (d *DB) Pages(ctx context.Context, host string, f orchard.PageFilter) ([]*orchard.Page, error) {
	_, t, err := canonical(host)
	if err != nil {
		return nil, err
	}
	var out []*orchard.Page
	err = d.read(ctx, func(db *sql.DB) error {
		var err error
		out, err = listPages(ctx, db, t, f)
		return err
	})
	return out, err
}

func listPages(ctx context.Context, q queryer, t tables, f orchard.PageFilter) ([]*orchard.Page, error) {
	query := "SELECT " + pageColumns + " FROM " + t.pages + " WHERE 1 = 1"
	var args []any
	if f.Category != "" {
		query += " AND category = ?"
		args = append(args, f.Category)
	}
	if f.PublishedOnly {
		query += " AND published = 1"
	}
	rows, err := q.QueryContext(ctx, query+" ORDER BY path", args...)
	if err != nil {
		return nil, mapReadError(err)
	}
	defer rows.Close()
	out := []*orchard.Page{}
	for rows.Next() {
		p, err := scanPage(rows)
		if err != nil {
			return nil, fmt.Errorf("pages: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeletePage removes a page.
func (d *DB) DeletePage(ctx context.Context, host, path string) error {
	_, t, err := canonical(host)
	if err != nil {
		return err
	}
	return d.write(ctx, func(tx *sql.Tx) error {
		return deleteRow(ctx, tx, "DELETE FROM "+t.pages+" WHERE path = ?", path, "Page %q not found.")
	})
}

// deleteRow deletes by key and returns ENOTFOUND (with msg) when nothing was
// there.
func deleteRow(ctx context.Context, tx *sql.Tx, query, key, msg string) error {
	res, err := tx.ExecContext(ctx, query, key)
	if err != nil {
		return mapReadError(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return orchard.Errorf(orchard.ENOTFOUND, msg, key)
	}
	return nil
}
