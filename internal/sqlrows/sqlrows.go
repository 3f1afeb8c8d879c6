// Package sqlrows reads the rows a database/sql query selects into Go
// values, and runs a list of statements. The two stores (mysql, sqlite)
// share it: their SQL differs, the way they walk rows does not.
package sqlrows

import (
	"context"
	"database/sql"
)

// Scanner is a *sql.Row or *sql.Rows.
type Scanner interface{ Scan(...any) error }

// Querier is what *sql.DB, *sql.Conn and *sql.Tx offer for queries.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Execer is what *sql.DB, *sql.Conn and *sql.Tx offer for statements.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// ExecEach runs each statement, in order, with the one argument arg, and
// stops at the first error.
func ExecEach(ctx context.Context, e Execer, arg any, statements ...string) error {
	for _, s := range statements {
		if _, err := e.ExecContext(ctx, s, arg); err != nil {
			return err
		}
	}
	return nil
}

// Each runs query and calls fn with each row it selects; the rows are
// closed when it returns, so the same connection can run the next query.
func Each(ctx context.Context, q Querier, fn func(Scanner) error, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// List runs query and returns each row it selects, read with scan (nil
// when it selects none).
func List[T any](ctx context.Context, q Querier, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	var out []T
	err := Each(ctx, q, func(sc Scanner) error {
		v, err := scan(sc)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, query, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// String scans a row of one string column.
func String(sc Scanner) (string, error) {
	var s string
	err := sc.Scan(&s)
	return s, err
}

// Values returns the values ps points to (as orchard.SiteContent holds
// them), or err: Values(listX(...)) passes a list function's error on.
func Values[T any](ps []*T, err error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	var out []T
	for _, p := range ps {
		out = append(out, *p)
	}
	return out, nil
}
