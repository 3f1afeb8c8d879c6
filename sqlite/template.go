package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlrows"
)

// PutTemplate creates or replaces a template; a zero Updated becomes now.
func (db *DB) PutTemplate(ctx context.Context, host string, tm *orchard.Template) error {
	return db.putContent(ctx, host, tm, func(tx *sql.Tx, id int64) error {
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

const templateColumns = `name, body, updated`

func scanTemplate(sc sqlrows.Scanner) (*orchard.Template, error) {
	var tm orchard.Template
	var updated int64
	if err := sc.Scan(&tm.Name, &tm.Body, &updated); err != nil {
		return nil, err
	}
	tm.Updated = timeFromDB(updated)
	return &tm, nil
}

// Template returns the template called name.
func (db *DB) Template(ctx context.Context, host, name string) (*orchard.Template, error) {
	return readRow(ctx, db, "Template", host, name, scanTemplate,
		`SELECT `+templateColumns+` FROM orchard_templates WHERE `+siteIs+` AND name = ?`)
}

// Templates returns every template of the site, sorted by name.
func (db *DB) Templates(ctx context.Context, host string) ([]*orchard.Template, error) {
	return readRows(ctx, db, host, listTemplates)
}

// listTemplates lists the templates of site h, sorted by name.
func listTemplates(ctx context.Context, q querier, h string) ([]*orchard.Template, error) {
	return sqlrows.List(ctx, q, scanTemplate, `SELECT `+templateColumns+` FROM orchard_templates WHERE `+siteIs+` ORDER BY name`, h)
}

// DeleteTemplate removes the template called name.
func (db *DB) DeleteTemplate(ctx context.Context, host, name string) error {
	return db.updateContent(ctx, host, func(tx *sql.Tx, id int64) error {
		return deleteRow(ctx, tx, notFound("Template", name), `DELETE FROM orchard_templates WHERE site_id = ? AND name = ?`, id, name)
	})
}
