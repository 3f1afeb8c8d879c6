package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	orchard "github.com/orchardhq/orchard"
)

// lockWait is how long an operation waits for another one on the same site.
const lockWait = 30

// getLock takes a named server lock on conn (held until releaseLock or the
// connection closes). Names are made from site prefixes, never from input.
func getLock(ctx context.Context, conn *sql.Conn, name string) error {
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, lockWait).Scan(&got); err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	if !got.Valid || got.Int64 != 1 {
		return errors.New("another change to the same site is still running; try again")
	}
	return nil
}

func releaseLock(conn *sql.Conn, name string) {
	_, _ = conn.ExecContext(context.Background(), "SELECT RELEASE_LOCK(?)", name)
}

// withSiteLock runs fn holding the named lock of the site with canonical
// host h, on a dedicated primary connection, so that creating, replacing
// and dropping one site take turns.
func (d *DB) withSiteLock(ctx context.Context, h string, fn func(conn *sql.Conn) error) error {
	conn, err := d.primary.Conn(ctx)
	if err != nil {
		return fmt.Errorf("mysql: %w", err)
	}
	defer conn.Close()
	name := "orchard:" + orchard.TablePrefix(h) // at most 61 bytes: MySQL allows 64
	if err := getLock(ctx, conn, name); err != nil {
		return err
	}
	defer releaseLock(conn, name)
	return fn(conn)
}
