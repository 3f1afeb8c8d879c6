package dbcluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// appPrivileges are what the store needs on its database: rows, and the
// per-site tables it creates and drops (REFERENCES for their foreign keys).
var appPrivileges = []string{"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX", "REFERENCES"}

// Init sets the cluster up, or finishes setting it up: it checks every
// server (binary log, distinct server ids, GTID mode), creates the database
// and the two accounts on the primary with the least privileges they need,
// makes each replica read-only and replicates it from the primary, then
// waits until every replica has caught up. Running it again on a cluster it
// set up changes nothing.
func (c *Cluster) Init(ctx context.Context) (*Report, error) {
	r := &Report{}
	t, err := c.openValid(ctx, r, true, c.Replicas)
	if err != nil {
		return r, err
	}
	defer t.close()
	if err := c.check(ctx, r, t.primary, t.replicas); err != nil {
		return r, err
	}
	if err := c.setupPrimary(ctx, r, t.primary); err != nil {
		return r, err
	}
	var first error
	for _, rep := range t.replicas {
		if err := c.attach(ctx, r, t.primary, rep); err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return r, first
	}
	for _, rep := range t.replicas {
		if err := c.waitCaughtUp(ctx, r, t.primary, rep); err != nil && first == nil {
			first = err
		}
	}
	return r, first
}

// check verifies what replication needs before anything is changed.
func (c *Cluster) check(ctx context.Context, r *Report, primary *server, replicas []*server) error {
	ids := map[string]string{}
	all := append([]*server{primary}, replicas...)
	for i, s := range all {
		id, err := s.queryString(ctx, "SELECT @@GLOBAL.server_id")
		if err != nil {
			return r.fail(s.addr, "read server_id", err)
		}
		if other, dup := ids[id]; dup {
			return r.fail(s.addr, "check server_id", fmt.Errorf("server_id %s is also the id of %s; give each server its own", id, other))
		}
		ids[id] = s.addr
		logBin, err := s.queryBool(ctx, "SELECT @@GLOBAL.log_bin")
		if err != nil {
			return r.fail(s.addr, "read log_bin", err)
		}
		if !logBin && i == 0 {
			return r.fail(s.addr, "check binary log", errors.New("log_bin is off on the primary: set log_bin in its configuration and restart it"))
		}
		if s.dialect.Flavor == MySQL {
			mode, err := s.queryString(ctx, "SELECT @@GLOBAL.gtid_mode")
			if err != nil {
				return r.fail(s.addr, "read gtid_mode", err)
			}
			if mode != "ON" {
				return r.fail(s.addr, "check gtid_mode", fmt.Errorf("gtid_mode is %s: set gtid_mode=ON and enforce_gtid_consistency=ON", mode))
			}
		}
		if i > 0 {
			upd, err := s.queryBool(ctx, "SELECT @@GLOBAL.log_slave_updates")
			if err != nil {
				return r.fail(s.addr, "read log_slave_updates", err)
			}
			if !logBin || !upd {
				r.add(s.addr, "check binary log", Warning, "log_bin and log_slave_updates should be on, or this replica cannot be promoted")
			}
		}
		r.add(s.addr, "check server", OK, "server_id "+id)
	}
	return checkPrimaryRole(ctx, r, primary)
}

// checkPrimaryRole refuses to go on when the server the cluster file calls
// the primary replicates from another: the file is out of date (a promote
// was not written back), and acting on it would write to a replica.
func checkPrimaryRole(ctx context.Context, r *Report, primary *server) error {
	st, err := primary.replicaStatus(ctx)
	if err != nil {
		return r.fail(primary.addr, "read replication status", err)
	}
	if st != nil && st["host"] != "" {
		src := joinHostPort(st["host"], st["port"])
		return r.fail(primary.addr, "check role", fmt.Errorf(
			"the cluster file's primary replicates from %s: update the cluster file (see orchard db status), or promote this server", src))
	}
	return nil
}

func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// setupPrimary makes the primary writable and creates the database and
// the accounts.
func (c *Cluster) setupPrimary(ctx context.Context, r *Report, p *server) error {
	if err := c.setReadOnly(ctx, r, p, false); err != nil {
		return err
	}
	action := "create database " + quoteIdent(c.Database)
	n, err := p.queryString(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", c.Database)
	if err != nil {
		return r.fail(p.addr, action, err)
	}
	if n != "0" {
		r.add(p.addr, action, Unchanged, "exists")
	} else {
		if err := p.exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(c.Database)+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
			return r.fail(p.addr, action, err)
		}
		r.add(p.addr, action, Changed, "utf8mb4")
	}
	if err := c.ensureUser(ctx, r, p, c.App); err != nil {
		return err
	}
	if err := c.ensureGrant(ctx, r, p, c.App, quoteIdent(c.Database)+".*", appPrivileges); err != nil {
		return err
	}
	if err := c.ensureGrant(ctx, r, p, c.App, "*.*", []string{p.dialect.MonitorPrivilege()}); err != nil {
		return err
	}
	if err := c.ensureUser(ctx, r, p, c.Repl); err != nil {
		return err
	}
	return c.ensureGrant(ctx, r, p, c.Repl, "*.*", []string{"REPLICATION SLAVE"})
}

// ensureUser creates an account unless it exists. An existing account's
// password is left alone (init never changes what it finds).
func (c *Cluster) ensureUser(ctx context.Context, r *Report, s *server, a Account) error {
	action := "create user " + a.account()
	n, err := s.queryString(ctx, "SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?", a.User, a.host())
	if err != nil {
		return r.fail(s.addr, action, err)
	}
	if n != "0" {
		r.add(s.addr, action, Unchanged, "exists; its password is left as it is")
		return nil
	}
	if err := s.exec(ctx, "CREATE USER IF NOT EXISTS "+a.account()+" IDENTIFIED BY ?", a.Password); err != nil {
		return r.fail(s.addr, action, err)
	}
	r.add(s.addr, action, Changed, "")
	return nil
}

// ensureGrant grants privs on what to the account unless SHOW GRANTS
// already lists them.
func (c *Cluster) ensureGrant(ctx context.Context, r *Report, s *server, a Account, on string, privs []string) error {
	action := "grant " + strings.Join(privs, ", ") + " on " + on + " to " + a.account()
	have, err := grantedPrivileges(ctx, s, a, on)
	if err != nil {
		return r.fail(s.addr, action, err)
	}
	missing := false
	for _, p := range privs {
		if !have[p] && !have["ALL PRIVILEGES"] && !(p == "REPLICATION SLAVE" && have["REPLICATION REPLICA"]) &&
			!(p == "SLAVE MONITOR" && have["REPLICA MONITOR"]) {
			missing = true
		}
	}
	if !missing {
		r.add(s.addr, action, Unchanged, "")
		return nil
	}
	if err := s.exec(ctx, "GRANT "+strings.Join(privs, ", ")+" ON "+on+" TO "+a.account()); err != nil {
		return r.fail(s.addr, action, err)
	}
	r.add(s.addr, action, Changed, "")
	return nil
}

// grantedPrivileges parses SHOW GRANTS lines "GRANT A, B ON `db`.* TO ..."
// for the object on.
func grantedPrivileges(ctx context.Context, s *server, a Account, on string) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, "SHOW GRANTS FOR "+a.account())
	if err != nil {
		return nil, explain(err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		privs, obj, ok := parseGrant(line)
		if !ok || obj != on {
			continue
		}
		for _, p := range privs {
			have[p] = true
		}
	}
	return have, rows.Err()
}

// parseGrant splits "GRANT SELECT, INSERT ON `db`.* TO `u`@`%`" into its
// privileges and object.
func parseGrant(line string) (privs []string, on string, ok bool) {
	rest, ok := strings.CutPrefix(line, "GRANT ")
	if !ok {
		return nil, "", false
	}
	list, rest, ok := strings.Cut(rest, " ON ")
	if !ok {
		return nil, "", false
	}
	on, _, ok = strings.Cut(rest, " TO ")
	if !ok {
		return nil, "", false
	}
	for _, p := range strings.Split(list, ",") {
		privs = append(privs, strings.TrimSpace(p))
	}
	return privs, on, true
}

// setReadOnly sets read_only unless it already has that value.
func (c *Cluster) setReadOnly(ctx context.Context, r *Report, s *server, on bool) error {
	action := "set read_only=0"
	if on {
		action = "set read_only=1"
	}
	cur, err := s.queryBool(ctx, "SELECT @@GLOBAL.read_only")
	if err != nil {
		return r.fail(s.addr, action, err)
	}
	if cur == on {
		r.add(s.addr, action, Unchanged, "")
		return nil
	}
	if err := s.exec(ctx, s.dialect.SetReadOnly(on)); err != nil {
		return r.fail(s.addr, action, err)
	}
	detail := ""
	if on && s.dialect.Flavor == MariaDB {
		detail = "also put read_only=1 in the server's configuration so a restart keeps it"
	}
	r.add(s.addr, action, Changed, detail)
	return nil
}

// attach makes rep a read-only replica of primary, unless it already is one
// with both threads running.
func (c *Cluster) attach(ctx context.Context, r *Report, primary, rep *server) error {
	if err := c.setReadOnly(ctx, r, rep, true); err != nil {
		return err
	}
	host, port, err := splitAddr(primary.addr)
	if err != nil {
		return r.fail(rep.addr, "replicate", err)
	}
	action := "replicate from " + primary.addr
	st, err := rep.replicaStatus(ctx)
	if err != nil {
		return r.fail(rep.addr, action, err)
	}
	same := st != nil && st["host"] == host && st["port"] == strconv.Itoa(port) && st["user"] == c.Repl.User &&
		(strings.EqualFold(st["using_gtid"], "Slave_Pos") || st["auto_position"] == "1")
	if same && st["io"] == "Yes" && st["sql"] == "Yes" {
		r.add(rep.addr, action, Unchanged, "replication running")
		return nil
	}
	if same {
		if err := rep.exec(ctx, rep.dialect.StartReplica()); err != nil {
			return r.fail(rep.addr, action, err)
		}
		r.add(rep.addr, action, Changed, "started replication")
		return nil
	}
	if err := c.pointAt(ctx, rep, host, port); err != nil {
		return r.fail(rep.addr, action, err)
	}
	r.add(rep.addr, action, Changed, "GTID replication configured and started")
	return nil
}

// pointAt stops replication, points rep at host:port with GTID
// auto-positioning and starts it again.
func (c *Cluster) pointAt(ctx context.Context, rep *server, host string, port int) error {
	if err := rep.exec(ctx, rep.dialect.StopReplica()); err != nil {
		return fmt.Errorf("stop replication: %w", err)
	}
	if err := rep.exec(ctx, rep.dialect.ChangeSource(), host, port, c.Repl.User, c.Repl.Password); err != nil {
		return fmt.Errorf("change source: %w", err)
	}
	if err := rep.exec(ctx, rep.dialect.StartReplica()); err != nil {
		return fmt.Errorf("start replication: %w", err)
	}
	return nil
}

// waitCaughtUp waits until rep has applied everything primary has logged,
// and reports the replica's error when it does not within CatchUpTimeout.
func (c *Cluster) waitCaughtUp(ctx context.Context, r *Report, primary, rep *server) error {
	action := "catch up with " + primary.addr
	if st, err := rep.replicaStatus(ctx); err != nil {
		return r.fail(rep.addr, action, err)
	} else if st == nil || st["host"] == "" {
		return r.fail(rep.addr, action, errors.New("it replicates from no one"))
	} else if host, port, _ := splitAddr(primary.addr); st["host"] != host || st["port"] != strconv.Itoa(port) {
		return r.fail(rep.addr, action, fmt.Errorf("it replicates from %s, not from the primary", joinHostPort(st["host"], st["port"])))
	}
	pos, err := primary.queryString(ctx, primary.dialect.GTIDExecuted())
	if err != nil {
		return r.fail(primary.addr, "read GTID position", err)
	}
	reached, err := waitGTID(ctx, rep, pos, c.catchUp())
	if err != nil {
		return r.fail(rep.addr, action, err)
	}
	if reached {
		// Having the position is not enough: the replica may have had it
		// before, while it cannot reach the primary now.
		reached, err = waitThreads(ctx, rep, c.catchUp())
	}
	if !reached {
		why := fmt.Sprintf("not caught up after %s", c.catchUp())
		if st, err := rep.replicaStatus(ctx); err == nil && st != nil {
			why = fmt.Sprintf("not replicating (IO thread %s, SQL thread %s)", st["io"], st["sql"])
			if e := st["io_error"] + st["sql_error"]; e != "" {
				why += ": " + e
			}
		} else if err != nil {
			why += ": " + err.Error()
		}
		return r.fail(rep.addr, action, errors.New(why))
	}
	r.add(rep.addr, action, OK, "at "+displayGTID(pos))
	return nil
}

// waitThreads waits up to d for both replication threads of s to run; it
// gives up early when the IO thread reports an error (a wrong password, an
// unreachable primary), which retrying will not cure soon.
func waitThreads(ctx context.Context, s *server, d time.Duration) (bool, error) {
	deadline := time.Now().Add(d)
	for {
		st, err := s.replicaStatus(ctx)
		if err != nil {
			return false, err
		}
		if st == nil {
			return false, nil
		}
		if st["io"] == "Yes" && st["sql"] == "Yes" {
			return true, nil
		}
		if st["io_error"] != "" || st["sql_error"] != "" || time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitGTID waits up to d for s to apply pos.
func waitGTID(ctx context.Context, s *server, pos string, d time.Duration) (bool, error) {
	secs := int(d / time.Second)
	if secs < 1 {
		secs = 1
	}
	v, err := s.queryString(ctx, s.dialect.WaitGTID(), pos, secs)
	if err != nil {
		return false, err
	}
	return v == "0", nil
}

func displayGTID(pos string) string {
	if pos == "" {
		return "(empty)"
	}
	return pos
}
