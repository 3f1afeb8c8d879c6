package mysql

import (
	"context"
	"database/sql"
	"errors"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlrows"
)

// readSite runs fn on a read server with the content of host without first
// looking the site up: fn's queries select the site with siteIs and h as
// its argument. When fn finds nothing (it returned sql.ErrNoRows), a
// missing site is told from a missing item (notFound). A list finds no
// rows both for a missing site and for an empty one: its fn returns
// sql.ErrNoRows when it found none, with notFound nil.
func (d *DB) readSite(ctx context.Context, host string, notFound error, fn func(q querier, h string) error) error {
	h, err := canonical(host)
	if err != nil {
		return err
	}
	return d.read(ctx, func(db *sql.DB) error {
		err := fn(db, h)
		if !errors.Is(err, sql.ErrNoRows) {
			return mapReadError(err)
		}
		if err := siteGone(ctx, db, h); err != nil {
			return err
		}
		return notFound // nil: an empty list of a site that exists
	})
}

// siteIs is the condition that selects the rows of one site of the shared
// content tables by its host, the query argument: reads need no second
// query for the site id. The primary keys start with site_id.
const siteIs = "site_id = (SELECT id FROM orchard_sites WHERE host = ?)"

// notFound is ENOTFOUND for the content item of kind ("Asset", "Page"...)
// at key.
func notFound(kind, key string) error {
	return orchard.Errorf(orchard.ENOTFOUND, "%s %q not found.", kind, key)
}

// readRow reads, with scan, the one row of host's content that query
// selects by key (its arguments: the site's host, then key); when there is
// none, ENOTFOUND for the item of kind at key.
func readRow[T any](ctx context.Context, d *DB, kind, host, key string, scan func(sqlrows.Scanner) (T, error), query string) (T, error) {
	var v T
	err := d.readSite(ctx, host, notFound(kind, key), func(q querier, h string) (err error) {
		v, err = scan(q.QueryRowContext(ctx, query, h, key))
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// readRows returns what list finds of the content of host; an empty list
// of a site that exists is no error.
func readRows[T any](ctx context.Context, d *DB, host string, list func(ctx context.Context, q querier, h string) ([]T, error)) ([]T, error) {
	var out []T
	err := d.readSite(ctx, host, nil, func(q querier, h string) (err error) {
		if out, err = list(ctx, q, h); err == nil && len(out) == 0 {
			return sql.ErrNoRows // see readSite
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// deleteRow runs a DELETE and returns notFound when it deleted nothing.
func deleteRow(ctx context.Context, tx *sql.Tx, notFound error, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return mapReadError(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return notFound
	}
	return nil
}

// mustExist returns notFound unless the query selects a row.
func mustExist(ctx context.Context, q querier, notFound error, query string, args ...any) error {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound
	}
	return mapReadError(err)
}

// mustBeFree returns taken when the query selects a row.
func mustBeFree(ctx context.Context, q querier, taken error, query string, args ...any) error {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return mapReadError(err)
	}
	return taken
}
