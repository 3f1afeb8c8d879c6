package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlrows"
)

// PutPage creates or replaces the page at p.Path. A zero Created keeps an
// existing page's; a non-zero one is stored (the page's date was set).
func (d *DB) PutPage(ctx context.Context, host string, p *orchard.Page) error {
	return d.putContent(ctx, host, p, func(tx *sql.Tx, id int64) error {
		if p.Category != "" {
			if err := mustExist(ctx, tx, notFound("Category", p.Category),
				"SELECT 1 FROM orchard_categories WHERE site_id = ? AND path = ? LOCK IN SHARE MODE", id, p.Category); err != nil {
				return err
			}
		}
		setDate := !p.Created.IsZero()
		p.Created, p.Updated = stamp(p.Created), stamp(p.Updated)
		if err := mustBeFree(ctx, tx, orchard.Errorf(orchard.ECONFLICT, "A category already has the path %q.", p.Path),
			"SELECT 1 FROM orchard_categories WHERE site_id = ? AND path = ? LOCK IN SHARE MODE", id, p.Path); err != nil {
			return err
		}
		// Upsert first, then read Created back (see PutCategory); when the
		// page existed, its kept Created changes the digest.
		if err := putPage(ctx, tx, id, p, true, setDate); err != nil {
			return err
		}
		var created time.Time
		if err := tx.QueryRowContext(ctx, "SELECT created FROM orchard_pages WHERE site_id = ? AND path = ?", id, p.Path).Scan(&created); err != nil {
			return err
		}
		if created.Equal(p.Created) {
			p.Created = created
			return nil
		}
		p.Created = created
		_, err := tx.ExecContext(ctx, "UPDATE orchard_pages SET digest = ? WHERE site_id = ? AND path = ?", p.ContentDigest(), id, p.Path)
		return err
	})
}

// putPage writes p; with upsert an existing row is replaced, keeping its
// created unless setCreated.
func putPage(ctx context.Context, tx *sql.Tx, id int64, p *orchard.Page, upsert, setCreated bool) error {
	q := "INSERT INTO orchard_pages (site_id, path, title, category, layout, format, body, description, published, created, updated, digest)" +
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	if upsert {
		q += " ON DUPLICATE KEY UPDATE title = VALUES(title), category = VALUES(category), layout = VALUES(layout)," +
			" format = VALUES(format), body = VALUES(body), description = VALUES(description)," +
			" published = VALUES(published), updated = VALUES(updated), digest = VALUES(digest)"
		if setCreated {
			q += ", created = VALUES(created)"
		}
	}
	// p's times are stamped (microseconds, as DATETIME(6) keeps them), so
	// the digest is that of the page as it reads back.
	_, err := tx.ExecContext(ctx, q, id, p.Path, p.Title, nullable(p.Category), p.Layout, p.Format, p.Body, p.Description,
		p.Published, p.Created, p.Updated, p.ContentDigest())
	if mysqlErrno(err) == errNoReferencedRow {
		return notFound("Category", p.Category)
	}
	return err
}

const pageColumns = "path, title, category, layout, format, body, description, published, created, updated"

func scanPage(sc sqlrows.Scanner) (*orchard.Page, error) {
	p := &orchard.Page{}
	var cat sql.NullString
	err := sc.Scan(&p.Path, &p.Title, &cat, &p.Layout, &p.Format, &p.Body, &p.Description, &p.Published, &p.Created, &p.Updated)
	p.Category = cat.String
	return p, err
}

// Page returns one page.
func (d *DB) Page(ctx context.Context, host, path string) (*orchard.Page, error) {
	return readRow(ctx, d, "Page", host, path, scanPage,
		"SELECT "+pageColumns+" FROM orchard_pages WHERE "+siteIs+" AND path = ?")
}

// Pages returns the pages f selects, sorted by path.
func (d *DB) Pages(ctx context.Context, host string, f orchard.PageFilter) ([]*orchard.Page, error) {
	return readRows(ctx, d, host, func(ctx context.Context, q querier, h string) ([]*orchard.Page, error) {
		return listPages(ctx, q, h, f)
	})
}

// listPages lists the pages of site h that f selects, sorted by path.
func listPages(ctx context.Context, q querier, h string, f orchard.PageFilter) ([]*orchard.Page, error) {
	query := "SELECT " + pageColumns + " FROM orchard_pages WHERE " + siteIs
	args := []any{h}
	if f.Category != "" {
		query += " AND category = ?"
		args = append(args, f.Category)
	}
	if f.PublishedOnly {
		query += " AND published = 1"
	}
	return sqlrows.List(ctx, q, scanPage, query+" ORDER BY path", args...)
}

// DeletePage removes a page.
func (d *DB) DeletePage(ctx context.Context, host, path string) error {
	return d.updateContent(ctx, host, func(tx *sql.Tx, id int64) error {
		return deleteRow(ctx, tx, notFound("Page", path), "DELETE FROM orchard_pages WHERE site_id = ? AND path = ?", id, path)
	})
}

// indexColumns are the columns LoadSiteIndex reads: all but the body, so
// that InnoDB never reads the (off-page) bodies.
const indexColumns = "path, title, category, layout, format, description, published, created, updated, digest"

// listPageIndex lists every page of site h sorted by path without bodies, Digest set
// (computed from the full row, read in the same transaction, for a page
// written without one).
func listPageIndex(ctx context.Context, q querier, h string) ([]orchard.Page, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+indexColumns+" FROM orchard_pages WHERE "+siteIs+" ORDER BY path", h)
	if err != nil {
		return nil, mapReadError(err)
	}
	defer rows.Close()
	out := []orchard.Page{}
	var unknown []string
	for rows.Next() {
		out = append(out, orchard.Page{})
		p := &out[len(out)-1]
		var cat sql.NullString
		if err := rows.Scan(&p.Path, &p.Title, &cat, &p.Layout, &p.Format, &p.Description, &p.Published,
			&p.Created, &p.Updated, &p.Digest); err != nil {
			return nil, fmt.Errorf("page index: %w", err)
		}
		p.Category = cat.String
		if p.Digest == "" {
			unknown = append(unknown, p.Path)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(unknown) > 0 {
		full, err := pageBodies(ctx, q, h, unknown)
		if err != nil {
			return nil, err
		}
		for i := range out {
			if out[i].Digest == "" {
				out[i].Digest = full[out[i].Path].Digest
			}
		}
	}
	return out, nil
}

// PageBodies returns the body and digest of each page at paths that exists,
// read in one transaction.
func (d *DB) PageBodies(ctx context.Context, host string, paths []string) (map[string]orchard.PageBody, error) {
	h, err := canonical(host)
	if err != nil {
		return nil, err
	}
	var out map[string]orchard.PageBody
	err = d.readTx(ctx, func(tx *sql.Tx) error {
		if _, err := getSite(ctx, tx, h); err != nil {
			return err
		}
		out, err = pageBodies(ctx, tx, h, paths)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pageBodies reads the body and digest of the pages of site h at paths, computing the
// digest of a row that has none.
func pageBodies(ctx context.Context, q querier, h string, paths []string) (map[string]orchard.PageBody, error) {
	out := make(map[string]orchard.PageBody, len(paths))
	const chunk = 500 // parameters per query
	for rest := paths; len(rest) > 0; {
		n := min(chunk, len(rest))
		args := make([]any, 1, n+1)
		args[0] = h
		for _, p := range rest[:n] {
			args = append(args, p)
		}
		rest = rest[n:]
		rows, err := q.QueryContext(ctx, "SELECT "+pageColumns+", digest FROM orchard_pages WHERE "+siteIs+
			" AND path IN (?"+strings.Repeat(", ?", n-1)+")", args...)
		if err != nil {
			return nil, mapReadError(err)
		}
		for rows.Next() {
			var p orchard.Page
			var cat sql.NullString
			if err := rows.Scan(&p.Path, &p.Title, &cat, &p.Layout, &p.Format, &p.Body, &p.Description, &p.Published,
				&p.Created, &p.Updated, &p.Digest); err != nil {
				rows.Close()
				return nil, fmt.Errorf("page bodies: %w", err)
			}
			p.Category = cat.String
			if p.Digest == "" {
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
