package dbcluster_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/orchardhq/orchard/dbcluster"
	"github.com/orchardhq/orchard/internal/mariadbtest"
	"github.com/orchardhq/orchard/internal/testnet"
)

// appDB opens a pool to one server as the application user.
func appDB(t *testing.T, s *dbcluster.LocalServer) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", s.DSN(mariadbtest.AppUser, mariadbtest.AppPassword, mariadbtest.Database))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// mustNotShowSecrets fails when a report shows a password.
func mustNotShowSecrets(t *testing.T, r *dbcluster.Report) {
	t.Helper()
	for _, s := range r.Steps {
		for _, secret := range []string{mariadbtest.AppPassword, mariadbtest.ReplPassword} {
			if strings.Contains(s.Action+s.Detail, secret) {
				t.Errorf("step %+v shows a password", s)
			}
		}
	}
}

func mustOK(t *testing.T, what string, r *dbcluster.Report, err error) {
	t.Helper()
	mustNotShowSecrets(t, r)
	if err != nil {
		for _, s := range r.Steps {
			t.Logf("%s %s: %s %s", s.Server, s.Action, s.Outcome, s.Detail)
		}
		t.Fatalf("%s: %v", what, err)
	}
}

// readRow polls a server until SELECT v FROM kv WHERE k = key returns want.
func waitRow(t *testing.T, db *sql.DB, key, want string) {
	t.Helper()
	testnet.WaitFor(t, "row "+key+" = "+want, logged(t, func() (bool, error) {
		var v string
		err := db.QueryRow("SELECT v FROM kv WHERE k = ?", key).Scan(&v)
		return err == nil && v == want, err
	}))
}

// logged adapts a condition that also says what is wrong to
// testnet.WaitFor: each new error is logged, so a timeout shows the last.
func logged(t *testing.T, cond func() (bool, error)) func() bool {
	t.Helper()
	last := ""
	return func() bool {
		ok, err := cond()
		if err != nil && err.Error() != "" && err.Error() != last {
			last = err.Error()
			t.Logf("not yet: %v", err)
		}
		return ok
	}
}

func statusOf(t *testing.T, c *dbcluster.Cluster) map[string]dbcluster.ServerStatus {
	t.Helper()
	st, err := c.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]dbcluster.ServerStatus{}
	for _, s := range st {
		out[s.Addr] = s
	}
	return out
}

// TestCluster walks a three-server cluster through the life the issue
// describes: init (twice), a write read on the replicas, least privileges,
// status and lag, stop/start, remove/add, promote with no lost write,
// demote, and wipe.
func TestCluster(t *testing.T) {
	ctx := t.Context()
	servers, err := mariadbtest.StartServers(ctx, t.TempDir(), 3)
	if err != nil {
		mariadbtest.Skip(t, err)
	}
	t.Cleanup(func() { servers.Close() })
	c := servers.Admin()
	p, r1, r2 := servers.Servers[0], servers.Servers[1], servers.Servers[2]

	t.Run("WrongAdminPassword", func(t *testing.T) {
		bad := *c
		bad.Primary.DSN = p.DSN("root", "wrong-admin-pw", "")
		r, err := bad.Init(ctx)
		if err == nil || !strings.Contains(err.Error(), "access denied") {
			t.Fatalf("Init with a wrong password: %v, want access denied", err)
		}
		for _, s := range r.Steps {
			if strings.Contains(s.Detail, "wrong-admin-pw") {
				t.Errorf("the report shows the password: %+v", s)
			}
		}
		if r.Changed() {
			t.Errorf("a failed Init changed something")
		}
	})

	t.Run("Init", func(t *testing.T) {
		r, err := c.Init(ctx)
		mustOK(t, "Init", r, err)
		if !r.Changed() {
			t.Errorf("the first Init changed nothing")
		}
		r, err = c.Init(ctx)
		mustOK(t, "Init again", r, err)
		for _, s := range r.Steps {
			if s.Outcome == dbcluster.Changed {
				t.Errorf("the second Init changed %s: %s", s.Server, s.Action)
			}
		}
	})

	primary := appDB(t, p)
	t.Run("WriteOnPrimaryReadOnReplicas", func(t *testing.T) {
		if _, err := primary.Exec("CREATE TABLE kv (k VARCHAR(64) PRIMARY KEY, v TEXT)"); err != nil {
			t.Fatal(err)
		}
		if _, err := primary.Exec("INSERT INTO kv VALUES ('a', 'one')"); err != nil {
			t.Fatal(err)
		}
		waitRow(t, appDB(t, r1), "a", "one")
		waitRow(t, appDB(t, r2), "a", "one")
	})

	t.Run("LeastPrivilege", func(t *testing.T) {
		for _, q := range []string{
			"CREATE USER evil@'%' IDENTIFIED BY 'x'",
			"SELECT COUNT(*) FROM mysql.user",
			"CREATE DATABASE other",
			"SET GLOBAL read_only = 1",
		} {
			if _, err := primary.Exec(q); err == nil {
				t.Errorf("the application account may run %q", q)
			}
		}
		_, err := appDB(t, r1).Exec("INSERT INTO kv VALUES ('r', 'on a replica')")
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1290 {
			t.Errorf("a write on a replica: %v, want the read-only error 1290", err)
		}
	})

	t.Run("Status", func(t *testing.T) {
		st := statusOf(t, c)
		if s := st[p.Addr()]; s.Role != dbcluster.RolePrimary || s.ReadOnly || !s.Healthy() || s.GTID == "" {
			t.Errorf("primary status %+v", s)
		}
		for _, r := range []string{r1.Addr(), r2.Addr()} {
			s := st[r]
			if s.Role != dbcluster.RoleReplica || !s.ReadOnly || s.IORunning != "Yes" || s.SQLRunning != "Yes" ||
				s.Source != p.Addr() || s.LagSeconds != 0 || !s.Healthy() {
				t.Errorf("replica status %+v", s)
			}
		}
	})

	t.Run("StatusShowsLag", func(t *testing.T) {
		// A global read lock on r2 stops its SQL thread from committing.
		conn, err := servers.Open(t, r2, "").Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
			t.Fatal(err)
		}
		if _, err := primary.Exec("INSERT INTO kv VALUES ('lag', 'x')"); err != nil {
			t.Fatal(err)
		}
		testnet.WaitFor(t, "status to show lag on "+r2.Addr(), logged(t, func() (bool, error) {
			s := statusOf(t, c)[r2.Addr()]
			return s.LagSeconds >= 1, errors.New(s.LastError)
		}))
		if _, err := conn.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
			t.Fatal(err)
		}
		waitRow(t, appDB(t, r2), "lag", "x")
	})

	t.Run("StopStart", func(t *testing.T) {
		r, err := c.Stop(ctx)
		mustOK(t, "Stop", r, err)
		for _, s := range statusOf(t, c) {
			if s.Expected == dbcluster.RoleReplica && (s.IORunning != "No" || s.SQLRunning != "No") {
				t.Errorf("after Stop: %+v", s)
			}
		}
		if _, err := primary.Exec("INSERT INTO kv VALUES ('stopped', 'y')"); err != nil {
			t.Fatal(err)
		}
		r, err = c.Stop(ctx)
		mustOK(t, "Stop again", r, err)
		if r.Changed() {
			t.Errorf("a second Stop changed something")
		}
		r, err = c.Start(ctx)
		mustOK(t, "Start", r, err)
		waitRow(t, appDB(t, r1), "stopped", "y")
	})

	t.Run("RemoveAdd", func(t *testing.T) {
		srv := c.Replicas[1]
		r, err := c.Remove(ctx, srv)
		mustOK(t, "Remove", r, err)
		if s := statusOf(t, c)[r2.Addr()]; s.Role != dbcluster.RoleStandalone {
			t.Errorf("removed replica: %+v", s)
		}
		if _, err := primary.Exec("INSERT INTO kv VALUES ('removed', 'z')"); err != nil {
			t.Fatal(err)
		}
		rest := *c
		rest.Replicas = c.Replicas[:1]
		r, err = rest.Add(ctx, srv)
		mustOK(t, "Add", r, err)
		waitRow(t, appDB(t, r2), "removed", "z")
	})

	t.Run("Promote", func(t *testing.T) {
		// The last write before the switch must survive it.
		if _, err := primary.Exec("INSERT INTO kv VALUES ('before', 'promote')"); err != nil {
			t.Fatal(err)
		}
		r, next, err := c.Promote(ctx, r1.Addr())
		mustOK(t, "Promote", r, err)
		if next.Primary.Addr != r1.Addr() || len(next.Replicas) != 2 {
			t.Fatalf("new layout: %+v", next)
		}
		newPrimary := appDB(t, r1)
		var v string
		if err := newPrimary.QueryRow("SELECT v FROM kv WHERE k = 'before'").Scan(&v); err != nil || v != "promote" {
			t.Fatalf("the write before the switch on the new primary: %q %v", v, err)
		}
		if _, err := primary.Exec("INSERT INTO kv VALUES ('old', 'primary')"); err == nil {
			t.Errorf("the old primary still takes writes")
		}
		if _, err := newPrimary.Exec("INSERT INTO kv VALUES ('after', 'promote')"); err != nil {
			t.Fatalf("write on the new primary: %v", err)
		}
		waitRow(t, appDB(t, p), "after", "promote")
		waitRow(t, appDB(t, r2), "after", "promote")
		st := statusOf(t, next)
		for addr, s := range st {
			if !s.Healthy() {
				t.Errorf("%s after promote: %+v", addr, s)
			}
		}
		if s := st[p.Addr()]; s.Role != dbcluster.RoleReplica || s.Source != r1.Addr() {
			t.Errorf("old primary after promote: %+v", s)
		}
		*c = *next
	})

	t.Run("DemoteAndBack", func(t *testing.T) {
		r, err := c.Demote(ctx)
		mustOK(t, "Demote", r, err)
		db := appDB(t, r1)
		if _, err := db.Exec("INSERT INTO kv VALUES ('demoted', '1')"); err == nil {
			t.Errorf("a demoted primary takes writes")
		}
		r, _, err = c.Promote(ctx, c.Primary.Addr)
		mustOK(t, "Promote(primary)", r, err)
		if _, err := db.Exec("INSERT INTO kv VALUES ('back', '1')"); err != nil {
			t.Errorf("write after undoing demote: %v", err)
		}
	})

	t.Run("Wipe", func(t *testing.T) {
		r, err := c.Wipe(ctx)
		mustOK(t, "Wipe", r, err)
		for _, s := range servers.Servers {
			var n int
			if err := servers.Open(t, s, "").QueryRow(
				"SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", mariadbtest.Database).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%s still has the database", s.Addr())
			}
		}
		r, err = c.Wipe(ctx)
		mustOK(t, "Wipe again", r, err)
		if r.Changed() {
			for _, s := range r.Steps {
				t.Logf("%s %s: %s", s.Server, s.Action, s.Outcome)
			}
			t.Errorf("a second Wipe changed something")
		}
	})
}

// A replica that cannot reach the primary (here: a wrong replication
// password) makes Init fail with the replica's own error.
func TestInitReportsReplicaError(t *testing.T) {
	servers, err := mariadbtest.StartServers(t.Context(), t.TempDir(), 2)
	if err != nil {
		mariadbtest.Skip(t, err)
	}
	t.Cleanup(func() { servers.Close() })
	c := servers.Admin()
	c.CatchUpTimeout = 3 * time.Second
	if _, err := c.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Change the replication password on the primary behind orchard's back.
	if _, err := servers.Open(t, servers.Primary(), "").Exec("ALTER USER orchard_repl@'%' IDENTIFIED BY 'changed'"); err != nil {
		t.Fatal(err)
	}
	srv := c.Replicas[0]
	if _, err := c.Remove(t.Context(), srv); err != nil {
		t.Fatal(err)
	}
	c.Replicas = nil
	_, err = c.Add(context.Background(), srv)
	if err == nil || !strings.Contains(err.Error(), "Access denied") {
		t.Fatalf("Add with a wrong replication password: %v", err)
	}
	if strings.Contains(err.Error(), mariadbtest.ReplPassword) {
		t.Errorf("error shows the password: %v", err)
	}
}

// After a promote that was not written back to the cluster file, the verbs
// that act on the primary refuse instead of writing to what is now a
// replica.
func TestStaleClusterFile(t *testing.T) {
	servers, err := mariadbtest.StartCluster(t.Context(), t.TempDir(), 2)
	if err != nil {
		mariadbtest.Skip(t, err)
	}
	t.Cleanup(func() { servers.Close() })
	c := servers.Admin()
	if _, _, err := c.Promote(t.Context(), c.Replicas[0].Addr); err != nil {
		t.Fatal(err)
	}
	for name, op := range map[string]func() (*dbcluster.Report, error){
		"Init":   func() (*dbcluster.Report, error) { return c.Init(t.Context()) },
		"Wipe":   func() (*dbcluster.Report, error) { return c.Wipe(t.Context()) },
		"Demote": func() (*dbcluster.Report, error) { return c.Demote(t.Context()) },
	} {
		r, err := op()
		if err == nil || !strings.Contains(err.Error(), "update the cluster file") {
			t.Errorf("%s with a stale cluster file: %v", name, err)
		}
		if r.Changed() {
			t.Errorf("%s with a stale cluster file changed something", name)
		}
	}
}
