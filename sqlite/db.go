package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	orchard "github.com/orchardhq/orchard"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// BusyTimeout is how long a connection waits for a lock held by another
// process before it fails with "database is locked".
const BusyTimeout = 10 * time.Second

// maxReaders bounds the pool of read connections.
const maxReaders = 8

// DB is an orchard.Store kept in one SQLite file. It is safe for concurrent
// use; writes are serialised.
type DB struct {
	path  string
	write *sql.DB // one connection, BEGIN IMMEDIATE
	read  *sql.DB // query-only connections

	// siteVersion is SiteVersion's query, prepared once: it runs on
	// every request the master serves, and preparing it is most of its cost.
	siteVersion *sql.Stmt

	now func() time.Time

	// afterMove, when set, runs in each transaction of moveSites after the
	// site's content is moved, before the commit; an error rolls the site
	// back and fails Open. Tests use it to stop an upgrade half-way.
	afterMove func(host string) error

	closeOnce sync.Once
	closeErr  error
}

var _ orchard.Store = (*DB)(nil)

// Open opens (creating if needed) the SQLite database at path and brings its
// schema up to date. The directory must exist.
func Open(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, nil)
}

// open is Open with a hook for moveSites (see DB.afterMove).
func open(ctx context.Context, path string, afterMove func(host string) error) (*DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: invalid database path %q (a plain file name without '?' or '#')", path)
	}
	db := &DB{path: path, now: time.Now, afterMove: afterMove}
	// The file holds password hashes: create it for its owner only (SQLite
	// gives its -wal and -shm files the same mode).
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	var err error
	if db.write, err = sql.Open("sqlite", dsn(path, false)); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetConnMaxIdleTime(0)
	if err := db.migrate(ctx); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if db.read, err = sql.Open("sqlite", dsn(path, true)); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.read.SetMaxOpenConns(maxReaders)
	db.read.SetMaxIdleConns(maxReaders)
	if err := db.read.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if db.siteVersion, err = db.read.PrepareContext(ctx, siteVersionQuery); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// dsn builds the data source name; the pragmas apply to every connection the
// pool opens.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode()
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Close closes the database. It is safe to call more than once.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		var errs []error
		if db.siteVersion != nil {
			errs = append(errs, db.siteVersion.Close())
		}
		if db.read != nil {
			errs = append(errs, db.read.Close())
		}
		if db.write != nil {
			errs = append(errs, db.write.Close())
		}
		db.closeErr = errors.Join(errs...)
	})
	return db.closeErr
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// update runs fn in a write transaction and commits it when fn succeeds.
func (db *DB) update(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// view runs fn in a read transaction: one consistent snapshot.
func (db *DB) view(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}

// timeToDB stores times as microseconds since the epoch, UTC.
func timeToDB(t time.Time) int64 { return t.UTC().UnixMicro() }

// timeFromDB is the inverse of timeToDB.
func timeFromDB(v int64) time.Time { return time.UnixMicro(v).UTC() }

// stamp returns t truncated to what the database keeps, or now when t is zero.
func (db *DB) stamp(t time.Time) time.Time {
	if t.IsZero() {
		t = db.now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// stamp2 stamps a created and updated pair, giving both the same now.
func (db *DB) stamp2(created, updated *time.Time) {
	now := db.stamp(time.Time{})
	for _, t := range []*time.Time{created, updated} {
		if t.IsZero() {
			*t = now
		} else {
			*t = db.stamp(*t)
		}
	}
}

// nullString maps "" to NULL, for optional foreign keys.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
