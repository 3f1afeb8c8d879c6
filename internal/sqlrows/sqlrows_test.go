package sqlrows_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/orchardhq/orchard/internal/sqlrows"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// mustOpen opens an SQLite database holding the table t(name, n) with three
// rows.
func mustOpen(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, q := range []string{
		`CREATE TABLE t (name TEXT NOT NULL, n INTEGER NOT NULL)`,
		`INSERT INTO t VALUES ('b', 2), ('a', 1), ('c', 3)`,
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return db
}

func TestList(t *testing.T) {
	db := mustOpen(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name  string
		query string
		args  []any
		want  []string
	}{
		{"OK", `SELECT name FROM t ORDER BY name`, nil, []string{"a", "b", "c"}},
		{"Args", `SELECT name FROM t WHERE n > ? ORDER BY n`, []any{1}, []string{"b", "c"}},
		{"None", `SELECT name FROM t WHERE n > 9`, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sqlrows.List(ctx, db, sqlrows.String, tc.query, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Errorf("List = %#v, want %#v", got, tc.want)
			}
		})
	}
	t.Run("ErrQuery", func(t *testing.T) {
		if _, err := sqlrows.List(ctx, db, sqlrows.String, `SELECT name FROM missing`); err == nil {
			t.Error("List of a missing table: no error")
		}
	})
	t.Run("ErrScan", func(t *testing.T) {
		errStop := errors.New("stop")
		got, err := sqlrows.List(ctx, db, func(sqlrows.Scanner) (string, error) { return "", errStop }, `SELECT name FROM t`)
		if !errors.Is(err, errStop) || got != nil {
			t.Errorf("List with a failing scan = %q, %v; want nil, %v", got, err, errStop)
		}
	})
}

// TestEachReleasesConnection runs a second query on a one-connection
// pool after Each: it would block if Each left its rows open.
func TestEachReleasesConnection(t *testing.T) {
	db := mustOpen(t)
	db.SetMaxOpenConns(1)
	ctx := t.Context()
	sum := 0
	err := sqlrows.Each(ctx, db, func(sc sqlrows.Scanner) error {
		var n int
		err := sc.Scan(&n)
		sum += n
		return err
	}, `SELECT n FROM t`)
	if err != nil || sum != 6 {
		t.Fatalf("Each: sum %d, %v; want 6", sum, err)
	}
	// Generous: it fails by blocking, not by being slow.
	qctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var n int
	if err := db.QueryRowContext(qctx, `SELECT COUNT(*) FROM t`).Scan(&n); err != nil || n != 3 {
		t.Errorf("query after Each: %d, %v", n, err)
	}
}

func TestValues(t *testing.T) {
	one, two := 1, 2
	got, err := sqlrows.Values([]*int{&one, &two}, nil)
	if err != nil || !slices.Equal(got, []int{1, 2}) {
		t.Errorf("Values = %v, %v; want [1 2]", got, err)
	}
	errList := errors.New("list failed")
	if got, err := sqlrows.Values([]*int{&one}, errList); got != nil || !errors.Is(err, errList) {
		t.Errorf("Values with an error = %v, %v; want nil, %v", got, err, errList)
	}
}

func TestExecEach(t *testing.T) {
	db := mustOpen(t)
	ctx := t.Context()
	err := sqlrows.ExecEach(ctx, db, 2,
		`DELETE FROM t WHERE n = ?`,
		`UPDATE t SET name = 'x' WHERE n > ?`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sqlrows.List(ctx, db, sqlrows.String, `SELECT name FROM t ORDER BY n`)
	if err != nil || !slices.Equal(got, []string{"a", "x"}) {
		t.Errorf("after ExecEach: %q, %v; want [a x]", got, err)
	}
	// The first failing statement stops the rest.
	err = sqlrows.ExecEach(ctx, db, 1,
		`DELETE FROM missing WHERE n = ?`,
		`DELETE FROM t WHERE n = ?`)
	if err == nil {
		t.Error("ExecEach with a failing statement: no error")
	}
	if got, _ := sqlrows.List(ctx, db, sqlrows.String, `SELECT name FROM t ORDER BY n`); len(got) != 2 {
		t.Errorf("a statement after the failing one ran: %q left", got)
	}
}
