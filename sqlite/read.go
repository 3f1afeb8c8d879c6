package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlrows"
)

// readSite runs fn on the read pool with the content of host without first
// looking the site up, the fast path for serving: fn's queries select the
// site with siteIs and h as its argument. When fn fails, it tells a
// missing site (ENOTFOUND for the site) from a missing item (fn returned
// sql.ErrNoRows: notFound) and from any other failure. A list finds no rows
// both for a missing site and for an empty one: its fn returns
// sql.ErrNoRows when it found none, with notFound nil.
func (db *DB) readSite(ctx context.Context, host string, notFound error, fn func(q querier, h string) error) error {
	h, err := orchard.NormalizeHost(host)
	if err != nil {
		return siteNotFound(host)
	}
	err = fn(db.read, h)
	if err == nil {
		return nil
	}
	if ok, e2 := siteExists(ctx, db.read, h); e2 == nil && !ok {
		return siteNotFound(h)
	}
	if errors.Is(err, sql.ErrNoRows) {
		if notFound == nil {
			return nil // an empty list of a site that exists
		}
		return notFound
	}
	return err
}

// siteIs is the condition that selects the rows of one site by its host,
// the query argument, for reads that do not know the site id: one query
// instead of two on the serving path. The primary keys start with site_id,
// so it is an index search.
const siteIs = `site_id = (SELECT id FROM orchard_sites WHERE host = ?)`

// notFound is ENOTFOUND for the content item of kind ("Asset", "Page"...)
// at key.
func notFound(kind, key string) error {
	return orchard.Errorf(orchard.ENOTFOUND, "%s %q not found.", kind, key)
}

// readRow reads, with scan, the one row of host's content that query
// selects by key (its arguments: the site's host, then key); when there is
// none, ENOTFOUND for the item of kind at key.
func readRow[T any](ctx context.Context, db *DB, kind, host, key string, scan func(sqlrows.Scanner) (T, error), query string) (T, error) {
	var v T
	err := db.readSite(ctx, host, notFound(kind, key), func(q querier, h string) (err error) {
		v, err = scan(q.QueryRowContext(ctx, query, h, key))
		return err
	})
	if err != nil {
		var zero T
		return zero, wrapRead(strings.ToLower(kind)+" "+key, err)
	}
	return v, nil
}

// readRows returns what list finds of the content of host; an empty list
// of a site that exists is no error.
func readRows[T any](ctx context.Context, db *DB, host string, list func(ctx context.Context, q querier, h string) ([]T, error)) ([]T, error) {
	var out []T
	err := db.readSite(ctx, host, nil, func(q querier, h string) (err error) {
		if out, err = list(ctx, q, h); err == nil && len(out) == 0 {
			return sql.ErrNoRows // see readSite
		}
		return err
	})
	if err != nil {
		return nil, wrapRead("content of "+host, err)
	}
	return out, nil
}

// deleteRow runs a DELETE and returns notFound when it deleted nothing.
func deleteRow(ctx context.Context, tx *sql.Tx, notFound error, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("sqlite: delete: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	} else if n == 0 {
		return notFound
	}
	return nil
}

// exists runs a COUNT(*) query and reports whether it counted anything.
func exists(ctx context.Context, q querier, query string, args ...any) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, query, args...).Scan(&n)
	return n > 0, err
}

// mustExist returns notFound unless the COUNT(*) query counts a row.
func mustExist(ctx context.Context, q querier, notFound error, query string, args ...any) error {
	ok, err := exists(ctx, q, query, args...)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	} else if !ok {
		return notFound
	}
	return nil
}

// mustBeFree returns taken when the COUNT(*) query counts a row.
func mustBeFree(ctx context.Context, q querier, taken error, query string, args ...any) error {
	ok, err := exists(ctx, q, query, args...)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	} else if ok {
		return taken
	}
	return nil
}

// keepCreated sets *created to the created time of the row query selects,
// when there is one: an existing item keeps its Created.
func keepCreated(ctx context.Context, q querier, created *time.Time, query string, args ...any) error {
	var v int64
	err := q.QueryRowContext(ctx, query, args...).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	*created = timeFromDB(v)
	return nil
}
