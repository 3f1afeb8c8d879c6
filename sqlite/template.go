package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	orchard "github.com/orchardhq/orchard"
)

func templateNotFound(name string) error {
	return orchard.Errorf(orchard.ENOTFOUND, "Template %q not found.", name)
}

// PutTemplate creates or replaces a template; a zero Updated becomes now.
func (db *DB) PutTemplate(ctx context.Context, host string, tm *orchard.Template) error {
	if err := tm.Validate(); err != nil {
		return err
	}
	return db.updateContent(ctx, host, func(tx *sql.Tx, id int64) error {
		return db.putTemplate(ctx, tx, id, tm)
	})
}

func (db *DB) putTemplate(ctx context.Context, tx *sql.Tx, id int64, tm *orchard.Template) error {
	tm.Updated = db.stamp(tm.Updated)
	_, err := tx.ExecContext(ctx, `INSERT INTO orchard_templates (site_id, name, body, updated) VALUES (?, ?, ?, ?)
		ON CONFLICT (site_id, name) DO UPDATE SET body = excluded.body, updated = excluded.updated`,
		id, tm.Name, tm.Body, timeToDB(tm.Updated))
	if err != nil {
		return fmt.Errorf("sqlite: put template %s: %w", tm.Name, err)
	}
	return nil
}

// Template returns the template called name.
func (db *DB) Template(ctx context.Context, host, name string) (*orchard.Template, error) {
	var tm orchard.Template
	err := db.readSite(ctx, host, templateNotFound(name), func(q querier, h string) error {
		var updated int64
		err := q.QueryRowContext(ctx, `SELECT name, body, updated FROM orchard_templates WHERE `+siteIs+` AND name = ?`, h, name).
			Scan(&tm.Name, &tm.Body, &updated)
		tm.Updated = timeFromDB(updated)
		return err
	})
	if err != nil {
		return nil, wrapRead("template "+name, err)
	}
	return &tm, nil
}

// Templates returns every template of the site, sorted by name.
func (db *DB) Templates(ctx context.Context, host string) ([]*orchard.Template, error) {
	var ts []*orchard.Template
	err := db.readSite(ctx, host, nil, func(q querier, h string) (err error) {
		if ts, err = listTemplates(ctx, q, h); err == nil && len(ts) == 0 {
			return sql.ErrNoRows // see readSite
		}
		return err
	})
	if err != nil {
		return nil, wrapRead("templates", err)
	}
	return ts, nil
}

// listTemplates lists the templates of site h, sorted by name.
func listTemplates(ctx context.Context, q querier, h string) ([]*orchard.Template, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, body, updated FROM orchard_templates WHERE `+siteIs+` ORDER BY name`, h)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []*orchard.Template
	for rows.Next() {
		var tm orchard.Template
		var updated int64
		if err := rows.Scan(&tm.Name, &tm.Body, &updated); err != nil {
			return nil, err
		}
		tm.Updated = timeFromDB(updated)
		ts = append(ts, &tm)
	}
	return ts, rows.Err()
}

// DeleteTemplate removes the template called name.
func (db *DB) DeleteTemplate(ctx context.Context, host, name string) error {
	return db.updateContent(ctx, host, func(tx *sql.Tx, id int64) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM orchard_templates WHERE site_id = ? AND name = ?`, id, name)
		if err != nil {
			return fmt.Errorf("sqlite: delete template %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return templateNotFound(name)
		}
		return nil
	})
}
