package mysql

import (
	"context"
	"database/sql"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlrows"
)

// PutTemplate creates or replaces a template.
func (d *DB) PutTemplate(ctx context.Context, host string, tp *orchard.Template) error {
	return d.putContent(ctx, host, tp, func(tx *sql.Tx, id int64) error {
		tp.Updated = stamp(tp.Updated)
		return putTemplate(ctx, tx, id, tp, true)
	})
}

func putTemplate(ctx context.Context, tx *sql.Tx, id int64, tp *orchard.Template, upsert bool) error {
	q := "INSERT INTO orchard_templates (site_id, name, body, updated) VALUES (?, ?, ?, ?)"
	if upsert {
		q += " ON DUPLICATE KEY UPDATE body = VALUES(body), updated = VALUES(updated)"
	}
	_, err := tx.ExecContext(ctx, q, id, tp.Name, tp.Body, tp.Updated)
	return err
}

const templateColumns = "name, body, updated"

func scanTemplate(sc sqlrows.Scanner) (*orchard.Template, error) {
	tp := &orchard.Template{}
	return tp, sc.Scan(&tp.Name, &tp.Body, &tp.Updated)
}

// Template returns one template.
func (d *DB) Template(ctx context.Context, host, name string) (*orchard.Template, error) {
	return readRow(ctx, d, "Template", host, name, scanTemplate,
		"SELECT "+templateColumns+" FROM orchard_templates WHERE "+siteIs+" AND name = ?")
}

// Templates returns a site's templates, sorted by name.
func (d *DB) Templates(ctx context.Context, host string) ([]*orchard.Template, error) {
	return readRows(ctx, d, host, listTemplates)
}

// listTemplates lists the templates of site h, sorted by name.
func listTemplates(ctx context.Context, q querier, h string) ([]*orchard.Template, error) {
	return sqlrows.List(ctx, q, scanTemplate, "SELECT "+templateColumns+" FROM orchard_templates WHERE "+siteIs+" ORDER BY name", h)
}

// DeleteTemplate removes a template.
func (d *DB) DeleteTemplate(ctx context.Context, host, name string) error {
	return d.updateContent(ctx, host, func(tx *sql.Tx, id int64) error {
		return deleteRow(ctx, tx, notFound("Template", name), "DELETE FROM orchard_templates WHERE site_id = ? AND name = ?", id, name)
	})
}
