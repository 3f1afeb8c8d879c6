package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlrows"
)

// PutPage creates or replaces the page at p.Path; its category must exist.
// A zero Created keeps an existing page's; a zero Created (of a new page) or
// Updated becomes now; a non-zero Created is stored, so a page's date can be set.
func (db *DB) PutPage(ctx context.Context, host string, p *orchard.Page) error {
	return db.putContent(ctx, host, p, func(tx *sql.Tx, id int64) error {
		return db.putPage(ctx, tx, id, p, true)
	})
}

func (db *DB) putPage(ctx context.Context, tx *sql.Tx, id int64, p *orchard.Page, keep bool) error {
	if p.Category != "" {
		if err := mustExist(ctx, tx, orchard.Errorf(orchard.ENOTFOUND, "Category %q of page %q not found.", p.Category, p.Path),
			`SELECT COUNT(*) FROM orchard_categories WHERE site_id = ? AND path = ?`, id, p.Category); err != nil {
			return err
		}
	}
	if err := mustBeFree(ctx, tx, orchard.Errorf(orchard.ECONFLICT, "A category already has the path %q.", p.Path),
		`SELECT COUNT(*) FROM orchard_categories WHERE site_id = ? AND path = ?`, id, p.Path); err != nil {
		return err
	}
	if keep && p.Created.IsZero() {
		if err := keepCreated(ctx, tx, &p.Created, `SELECT created FROM orchard_pages WHERE site_id = ? AND path = ?`, id, p.Path); err != nil {
			return fmt.Errorf("sqlite: put page %s: %w", p.Path, err)
		}
	}
	db.stamp2(&p.Created, &p.Updated)
	_, err := tx.ExecContext(ctx, `INSERT INTO orchard_pages
		(site_id, path, category, title, layout, format, body, description, published, created, updated, digest)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (site_id, path) DO UPDATE SET category = excluded.category, title = excluded.title,
			layout = excluded.layout, format = excluded.format, body = excluded.body,
			description = excluded.description, published = excluded.published,
			created = excluded.created, updated = excluded.updated, digest = excluded.digest`,
		id, p.Path, nullString(p.Category), p.Title, p.Layout, p.Format, p.Body, p.Description, p.Published,
		timeToDB(p.Created), timeToDB(p.Updated), storedDigest(p))
	if err != nil {
		return fmt.Errorf("sqlite: put page %s: %w", p.Path, err)
	}
	return nil
}

// storedDigest is the ContentDigest of p as it reads back from the
// database (times at the precision timeToDB keeps). p's own Digest is left
// alone, so callers see their page unchanged but for Validate's defaults.
func storedDigest(p *orchard.Page) string {
	q := *p
	q.Created, q.Updated = timeFromDB(timeToDB(p.Created)), timeFromDB(timeToDB(p.Updated))
	return q.ContentDigest()
}

// indexColumns are the columns LoadSiteIndex reads, in the pages' covering
// index (orchard_pages_index, after site_id), so that it reads that small
// B-tree in path order rather than every table row (and, a body being
// large, the row's overflow).
const indexColumns = `path, category, title, layout, format, description, published, created, updated, digest`

const pageColumns = `path, COALESCE(category, ''), title, layout, format, body, description, published, created, updated`

func scanPage(sc sqlrows.Scanner) (*orchard.Page, error) {
	var p orchard.Page
	if err := scanPageInto(sc, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// scanPageInto scans one pageColumns row into p.
func scanPageInto(sc sqlrows.Scanner, p *orchard.Page) error {
	var created, updated int64
	if err := sc.Scan(&p.Path, &p.Category, &p.Title, &p.Layout, &p.Format, &p.Body, &p.Description,
		&p.Published, &created, &updated); err != nil {
		return err
	}
	p.Created, p.Updated = timeFromDB(created), timeFromDB(updated)
	return nil
}

// loadPages reads every page of site h sorted by path, scanned straight into the
// slice LoadSite returns (no per-page allocation and copy). The slice is
// sized by a COUNT in the same transaction. With index, bodies are left out
// and Digest is set.
func loadPages(ctx context.Context, q querier, h string, index bool) ([]orchard.Page, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM orchard_pages WHERE `+siteIs, h).Scan(&n); err != nil {
		return nil, err
	}
	cols := pageColumns
	if index {
		// COALESCE(category, '') would make SQLite read the table row:
		// category is scanned as a NullString instead.
		cols = indexColumns
	}
	rows, err := q.QueryContext(ctx, `SELECT `+cols+` FROM orchard_pages WHERE `+siteIs+` ORDER BY path`, h)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ps []orchard.Page
	if n > 0 {
		ps = make([]orchard.Page, 0, n)
	}
	var unknown []string
	for rows.Next() {
		ps = append(ps, orchard.Page{})
		p := &ps[len(ps)-1]
		if !index {
			if err := scanPageInto(rows, p); err != nil {
				return nil, err
			}
			continue
		}
		var created, updated int64
		var cat sql.NullString
		if err := rows.Scan(&p.Path, &cat, &p.Title, &p.Layout, &p.Format, &p.Description,
			&p.Published, &created, &updated, &p.Digest); err != nil {
			return nil, err
		}
		p.Category = cat.String
		p.Created, p.Updated = timeFromDB(created), timeFromDB(updated)
		if p.Digest == "" {
			unknown = append(unknown, p.Path)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(unknown) > 0 {
		// Rows written without a digest (none after moveSites): it is
		// computed from the full row, read in the same transaction.
		full, err := pageBodies(ctx, q, h, unknown)
		if err != nil {
			return nil, err
		}
		for i := range ps {
			if ps[i].Digest == "" {
				ps[i].Digest = full[ps[i].Path].Digest
			}
		}
	}
	return ps, nil
}

// PageBodies returns the body and digest of each page at paths that exists,
// read in one transaction.
func (db *DB) PageBodies(ctx context.Context, host string, paths []string) (map[string]orchard.PageBody, error) {
	h, err := orchard.NormalizeHost(host)
	if err != nil {
		return nil, siteNotFound(host)
	}
	var out map[string]orchard.PageBody
	err = db.view(ctx, func(tx *sql.Tx) error {
		if ok, err := siteExists(ctx, tx, h); err != nil {
			return err
		} else if !ok {
			return siteNotFound(h)
		}
		out, err = pageBodies(ctx, tx, h, paths)
		return err
	})
	if err != nil {
		return nil, wrapRead("page bodies of "+h, err)
	}
	return out, nil
}

// pageBodies reads the body and digest of the pages of site h at paths, computing the
// digest of a row that has none.
func pageBodies(ctx context.Context, q querier, h string, paths []string) (map[string]orchard.PageBody, error) {
	out := make(map[string]orchard.PageBody, len(paths))
	const chunk = 500 // bound parameters per query
	for len(paths) > 0 {
		n := min(chunk, len(paths))
		args := make([]any, 1, n+1)
		args[0] = h
		for _, p := range paths[:n] {
			args = append(args, p)
		}
		paths = paths[n:]
		rows, err := q.QueryContext(ctx, `SELECT `+pageColumns+`, digest FROM orchard_pages WHERE `+siteIs+
			` AND path IN (?`+strings.Repeat(`, ?`, n-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var p orchard.Page
			var created, updated int64
			if err := rows.Scan(&p.Path, &p.Category, &p.Title, &p.Layout, &p.Format, &p.Body, &p.Description,
				&p.Published, &created, &updated, &p.Digest); err != nil {
				rows.Close()
				return nil, err
			}
			if p.Digest == "" {
				p.Created, p.Updated = timeFromDB(created), timeFromDB(updated)
				p.Digest = p.ContentDigest()
			}
			out[p.Path] = orchard.PageBody{Body: p.Body, Digest: p.Digest}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Page returns the page at path.
func (db *DB) Page(ctx context.Context, host, path string) (*orchard.Page, error) {
	return readRow(ctx, db, "Page", host, path, scanPage,
		`SELECT `+pageColumns+` FROM orchard_pages WHERE `+siteIs+` AND path = ?`)
}

// Pages returns the pages f selects, sorted by path.
func (db *DB) Pages(ctx context.Context, host string, f orchard.PageFilter) ([]*orchard.Page, error) {
	return readRows(ctx, db, host, func(ctx context.Context, q querier, h string) ([]*orchard.Page, error) {
		return listPages(ctx, q, h, f)
	})
}

// listPages lists the pages of site h that f selects, sorted by path.
func listPages(ctx context.Context, q querier, h string, f orchard.PageFilter) ([]*orchard.Page, error) {
	query := `SELECT ` + pageColumns + ` FROM orchard_pages WHERE ` + siteIs
	args := []any{h}
	if f.Category != "" {
		query += ` AND category = ?`
		args = append(args, f.Category)
	}
	if f.PublishedOnly {
		query += ` AND published = 1`
	}
	return sqlrows.List(ctx, q, scanPage, query+` ORDER BY path`, args...)
}

// DeletePage removes the page at path.
func (db *DB) DeletePage(ctx context.Context, host, path string) error {
	return db.updateContent(ctx, host, func(tx *sql.Tx, id int64) error {
		return deleteRow(ctx, tx, notFound("Page", path), `DELETE FROM orchard_pages WHERE site_id = ? AND path = ?`, id, path)
	})
}
