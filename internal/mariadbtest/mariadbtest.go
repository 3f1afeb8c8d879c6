// Package mariadbtest starts private MariaDB servers for tests: a primary
// and replicas replicating by GTID, each with its own data directory, port
// and socket, stopped when the tests end. When MariaDB is not installed the
// tests that need it skip, unless CI=true, where they fail.
package mariadbtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/orchardhq/orchard/dbcluster"
)

// Test accounts. The root account of a private server has no password.
const (
	AppUser      = "orchard"
	AppPassword  = "orchard-app-pw"
	ReplUser     = "orchard_repl"
	ReplPassword = "orchard-repl-pw"
	Database     = "orchard"
)

// Cluster is a running primary and its replicas.
type Cluster struct {
	Servers []*dbcluster.LocalServer // Servers[0] is the primary
	dbs     atomic.Int64
}

// Primary returns the primary server.
func (c *Cluster) Primary() *dbcluster.LocalServer { return c.Servers[0] }

// Replicas returns the replica servers.
func (c *Cluster) Replicas() []*dbcluster.LocalServer { return c.Servers[1:] }

// Admin returns a dbcluster.Cluster of the servers reached as root, with
// the test accounts.
func (c *Cluster) Admin() *dbcluster.Cluster {
	dc := &dbcluster.Cluster{
		Primary:        dbcluster.Server{Addr: c.Primary().Addr(), DSN: c.Primary().DSN("root", "", "")},
		Database:       Database,
		App:            dbcluster.Account{User: AppUser, Password: AppPassword},
		Repl:           dbcluster.Account{User: ReplUser, Password: ReplPassword},
		CatchUpTimeout: 20 * time.Second,
	}
	for _, r := range c.Replicas() {
		dc.Replicas = append(dc.Replicas, dbcluster.Server{Addr: r.Addr(), DSN: r.DSN("root", "", "")})
	}
	return dc
}

// Close stops every server, replicas first (a replica whose primary is
// gone may spend seconds retrying it while shutting down).
func (c *Cluster) Close() error {
	var first error
	for i := len(c.Servers) - 1; i >= 0; i-- {
		if err := c.Servers[i].Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// StartServers starts n servers (server ids 1..n) in parallel under dir,
// without replication. On error, the ones that started are stopped.
func StartServers(ctx context.Context, dir string, n int) (*Cluster, error) {
	c := &Cluster{Servers: make([]*dbcluster.LocalServer, n)}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c.Servers[i], errs[i] = dbcluster.StartLocal(ctx, filepath.Join(dir, "db"+strconv.Itoa(i)), i+1, nil)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, s := range c.Servers {
			if s != nil {
				s.Close()
			}
		}
		return nil, err
	}
	return c, nil
}

// StartCluster starts a primary and n-1 replicas under dir and sets up
// replication with dbcluster (Init).
func StartCluster(ctx context.Context, dir string, n int) (*Cluster, error) {
	c, err := StartServers(ctx, dir, n)
	if err != nil {
		return nil, err
	}
	if n > 1 {
		if _, err := c.Admin().Init(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("set up replication: %w", err)
		}
	}
	return c, nil
}

// Skip skips the test when err says MariaDB is not installed, except under
// CI=true, where it fails; other errors fail the test.
func Skip(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, dbcluster.ErrNotInstalled) && os.Getenv("CI") != "true" {
		tb.Skip(err)
	}
	tb.Fatal(err)
}

// Start starts a cluster of n servers for one test and stops it at cleanup.
func Start(tb testing.TB, n int) *Cluster {
	tb.Helper()
	c, err := StartCluster(tb.Context(), tb.TempDir(), n)
	if err != nil {
		Skip(tb, err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// Shared is a cluster started on first use and shared by a test binary's
// tests; TestMain calls Close after m.Run.
type Shared struct {
	N    int // servers: 1 primary and N-1 replicas
	once sync.Once
	c    *Cluster
	dir  string
	err  error
}

// Get returns the shared cluster, starting it on the first call; it skips or
// fails tb like Skip when it cannot start.
func (s *Shared) Get(tb testing.TB) *Cluster {
	tb.Helper()
	s.once.Do(func() {
		s.dir, s.err = os.MkdirTemp("", "orchard-mariadbtest-")
		if s.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		s.c, s.err = StartCluster(ctx, s.dir, s.N)
	})
	if s.err != nil {
		Skip(tb, s.err)
	}
	return s.c
}

// Close stops the shared cluster, if it was started, and removes its files.
func (s *Shared) Close() {
	if s.c != nil {
		s.c.Close()
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// NewDatabase creates a fresh database on the primary, waits until every
// replica has it, and returns its name; it is dropped at cleanup.
func (c *Cluster) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := "t" + strconv.FormatInt(c.dbs.Add(1), 10)
	db := c.Open(tb, c.Primary(), "")
	ctx := tb.Context()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name); err != nil {
			tb.Errorf("drop test database %s: %v", name, err)
		}
	})
	c.WaitReplicas(tb)
	return name
}

// WaitReplicas waits until every replica has applied all the primary has
// logged.
func (c *Cluster) WaitReplicas(tb testing.TB) {
	tb.Helper()
	var pos string
	if err := c.Open(tb, c.Primary(), "").QueryRowContext(tb.Context(), "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&pos); err != nil {
		tb.Fatal(err)
	}
	for _, r := range c.Replicas() {
		var v sql.NullInt64
		if err := c.Open(tb, r, "").QueryRowContext(tb.Context(), "SELECT MASTER_GTID_WAIT(?, 30)", pos).Scan(&v); err != nil {
			tb.Fatal(err)
		}
		if v.Int64 != 0 {
			tb.Fatalf("replica %s did not reach %s in 30s", r.Addr(), pos)
		}
	}
}

// Open returns a root connection pool to one server and database, closed at
// cleanup.
func (c *Cluster) Open(tb testing.TB, s *dbcluster.LocalServer, database string) *sql.DB {
	tb.Helper()
	cfg, err := mysql.ParseDSN(s.DSN("root", "", database))
	if err != nil {
		tb.Fatal(err)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	db := sql.OpenDB(conn)
	tb.Cleanup(func() { db.Close() })
	return db
}
