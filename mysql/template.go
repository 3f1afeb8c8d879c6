package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	orchard "github.com/orchardhq/orchard"
)

// PutTemplate creates or replaces a template.
func (d *DB) PutTemplate(ctx context.Context, host string, tp *orchard.Template) error {
	if err := tp.Validate(); err != nil {
		return err
	}
	h, err := canonical(host)
	if err != nil {
		return err
	}
	tp.Updated = stamp(tp.Updated)
	return d.updateContent(ctx, h, func(tx *sql.Tx, id int64) error { return putTemplate(ctx, tx, id, tp, true) })
}

func putTemplate(ctx context.Context, tx *sql.Tx, id int64, tp *orchard.Template, upsert bool) error {
	q := "INSERT INTO orchard_templates (site_id, name, body, updated) VALUES (?, ?, ?, ?)"
	if upsert {
		q += " ON DUPLICATE KEY UPDATE body = VALUES(body), updated = VALUES(updated)"
	}
	_, err := tx.ExecContext(ctx, q, id, tp.Name, tp.Body, tp.Updated)
	return err
}

// Template returns one template.
func (d *DB) Template(ctx context.Context, host, name string) (*orchard.Template, error) {
	h, err := canonical(host)
	if err != nil {
		return nil, err
	}
	tp := &orchard.Template{}
	err = d.read(ctx, func(db *sql.DB) error {
		err := db.QueryRowContext(ctx, "SELECT name, body, updated FROM orchard_templates WHERE "+siteIs+" AND name = ?", h, name).
			Scan(&tp.Name, &tp.Body, &tp.Updated)
		if errors.Is(err, sql.ErrNoRows) {
			if err := siteGone(ctx, db, h); err != nil {
				return err
			}
			return orchard.Errorf(orchard.ENOTFOUND, "Template %q not found.", name)
		}
		return mapReadError(err)
	})
	if err != nil {
		return nil, err
	}
	return tp, nil
}

// Templates returns a site's templates, sorted by name.
func (d *DB) Templates(ctx context.Context, host string) ([]*orchard.Template, error) {
	h, err := canonical(host)
	if err != nil {
		return nil, err
	}
	var out []*orchard.Template
	err = d.read(ctx, func(db *sql.DB) error {
		var err error
		if out, err = listTemplates(ctx, db, h); err == nil && len(out) == 0 {
			err = siteGone(ctx, db, h)
		}
		return err
	})
	return out, err
}

// listTemplates lists the templates of site h, sorted by name.
func listTemplates(ctx context.Context, q querier, h string) ([]*orchard.Template, error) {
	rows, err := q.QueryContext(ctx, "SELECT name, body, updated FROM orchard_templates WHERE "+siteIs+" ORDER BY name", h)
	if err != nil {
		return nil, mapReadError(err)
	}
	defer rows.Close()
	out := []*orchard.Template{}
	for rows.Next() {
		tp := &orchard.Template{}
		if err := rows.Scan(&tp.Name, &tp.Body, &tp.Updated); err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		out = append(out, tp)
	}
	return out, rows.Err()
}

// DeleteTemplate removes a template.
func (d *DB) DeleteTemplate(ctx context.Context, host, name string) error {
	h, err := canonical(host)
	if err != nil {
		return err
	}
	return d.updateContent(ctx, h, func(tx *sql.Tx, id int64) error {
		return deleteRow(ctx, tx, "DELETE FROM orchard_templates WHERE site_id = ? AND name = ?", id, name, "Template %q not found.")
	})
}
