package dbcluster

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Start starts replication on every replica whose threads are not running.
func (c *Cluster) Start(ctx context.Context) (*Report, error) {
	return c.eachReplica(ctx, "start replication", func(ctx context.Context, rep *server, st map[string]string) (string, string, error) {
		if st["io"] == "Yes" && st["sql"] == "Yes" {
			return Unchanged, "running", nil
		}
		if err := rep.exec(ctx, rep.dialect.StartReplica()); err != nil {
			return "", "", err
		}
		return Changed, "started", nil
	})
}

// Stop stops replication on every replica (reads there then go stale; the
// store stops using a replica that lags more than its threshold).
func (c *Cluster) Stop(ctx context.Context) (*Report, error) {
	return c.eachReplica(ctx, "stop replication", func(ctx context.Context, rep *server, st map[string]string) (string, string, error) {
		if st["io"] == "No" && st["sql"] == "No" {
			return Unchanged, "stopped", nil
		}
		if err := rep.exec(ctx, rep.dialect.StopReplica()); err != nil {
			return "", "", err
		}
		return Changed, "stopped", nil
	})
}

// eachReplica runs fn on every configured replica that has replication set up.
func (c *Cluster) eachReplica(ctx context.Context, action string,
	fn func(context.Context, *server, map[string]string) (string, string, error)) (*Report, error) {
	r := &Report{}
	if err := c.validate(false); err != nil {
		return r, err
	}
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	for _, srv := range c.Replicas {
		rep, err := connect(ctx, srv, c.catchUp()+30*time.Second)
		if err != nil {
			keep(r.fail(srv.Addr, action, err))
			continue
		}
		st, err := rep.replicaStatus(ctx)
		if err == nil && st == nil {
			err = errors.New("replication is not set up here: run orchard db init or orchard db add")
		}
		if err != nil {
			keep(r.fail(srv.Addr, action, err))
			rep.close()
			continue
		}
		outcome, detail, err := fn(ctx, rep, st)
		rep.close()
		if err != nil {
			keep(r.fail(srv.Addr, action, err))
			continue
		}
		r.add(srv.Addr, action, outcome, detail)
	}
	return r, first
}

// Add makes srv a read-only replica of the primary and waits until it has
// caught up. The caller adds it to the cluster file's replicas.
func (c *Cluster) Add(ctx context.Context, srv Server) (*Report, error) {
	r := &Report{}
	if srv.Addr == c.Primary.Addr {
		return r, fmt.Errorf("%s is the primary", srv.Addr)
	}
	if _, _, err := splitAddr(srv.Addr); err != nil {
		return r, err
	}
	t, err := c.openValid(ctx, r, true, []Server{srv})
	if err != nil {
		return r, err
	}
	defer t.close()
	rep := t.replicas[0]
	if err := c.check(ctx, r, t.primary, t.replicas); err != nil {
		return r, err
	}
	if err := c.attach(ctx, r, t.primary, rep); err != nil {
		return r, err
	}
	return r, c.waitCaughtUp(ctx, r, t.primary, rep)
}

// Remove stops replication on srv and makes it forget its source. It stays
// read-only, so nothing writes to it by mistake; the caller removes it from
// the cluster file.
func (c *Cluster) Remove(ctx context.Context, srv Server) (*Report, error) {
	r := &Report{}
	if srv.Addr == c.Primary.Addr {
		return r, fmt.Errorf("%s is the primary: promote a replica first", srv.Addr)
	}
	if _, _, err := splitAddr(srv.Addr); err != nil {
		return r, err
	}
	rep, err := connect(ctx, srv, time.Minute)
	if err != nil {
		return r, r.fail(srv.Addr, "connect", err)
	}
	defer rep.close()
	action := "remove replication"
	st, err := rep.replicaStatus(ctx)
	if err != nil {
		return r, r.fail(srv.Addr, action, err)
	}
	if st == nil {
		r.add(srv.Addr, action, Unchanged, "not replicating")
		return r, nil
	}
	if err := rep.exec(ctx, rep.dialect.StopReplica()); err != nil {
		return r, r.fail(srv.Addr, action, err)
	}
	if err := rep.exec(ctx, rep.dialect.ResetReplica()); err != nil {
		return r, r.fail(srv.Addr, action, err)
	}
	r.add(srv.Addr, action, Changed, "stopped and forgot its source; still read-only")
	return r, nil
}

// Demote stops writes on the primary (read_only=1) and reports its final
// GTID position: the first half of a planned switch, or a maintenance
// window. Promote of the same primary undoes it.
func (c *Cluster) Demote(ctx context.Context) (*Report, error) {
	r := &Report{}
	t, err := c.openValid(ctx, r, false, nil)
	if err != nil {
		return r, err
	}
	defer t.close()
	p := t.primary
	if err := checkPrimaryRole(ctx, r, p); err != nil {
		return r, err
	}
	if err := c.setReadOnly(ctx, r, p, true); err != nil {
		return r, err
	}
	pos, err := p.queryString(ctx, p.dialect.GTIDExecuted())
	if err != nil {
		return r, r.fail(p.addr, "read GTID position", err)
	}
	r.add(p.addr, "read GTID position", OK, displayGTID(pos))
	return r, nil
}

// Promote makes the replica at addr the primary without losing a write: it
// stops writes on the old primary, waits until the replica has applied
// everything the old primary logged, makes it a writable server with no
// source, and repoints the other replicas and the old primary (now a
// read-only replica) at it. It returns the new layout for the cluster file.
// If the replica does not catch up in time, the old primary is made
// writable again and nothing else is changed. Promoting the current primary
// only makes it writable (it undoes Demote).
func (c *Cluster) Promote(ctx context.Context, addr string) (*Report, *Cluster, error) {
	r := &Report{}
	if addr == c.Primary.Addr {
		rep, err := c.undoDemote(ctx)
		return rep, c, err
	}
	idx := -1
	for i, s := range c.Replicas {
		if s.Addr == addr {
			idx = i
		}
	}
	if idx < 0 {
		return r, nil, fmt.Errorf("%s is not one of the cluster's replicas", addr)
	}
	t, err := c.openValid(ctx, r, true, c.Replicas)
	if err != nil {
		return r, nil, err
	}
	defer t.close()
	old, cand := t.primary, t.replicas[idx]

	// Preconditions, before anything changes.
	if err := checkPrimaryRole(ctx, r, old); err != nil {
		return r, nil, err
	}
	logBin, err := cand.queryBool(ctx, "SELECT @@GLOBAL.log_bin")
	if err != nil {
		return r, nil, r.fail(cand.addr, "read log_bin", err)
	}
	upd, err := cand.queryBool(ctx, "SELECT @@GLOBAL.log_slave_updates")
	if err != nil {
		return r, nil, r.fail(cand.addr, "read log_slave_updates", err)
	}
	if !logBin || !upd {
		return r, nil, r.fail(cand.addr, "check binary log",
			errors.New("log_bin and log_slave_updates must be on, or the other servers cannot continue from its binary log"))
	}
	st, err := cand.replicaStatus(ctx)
	if err != nil {
		return r, nil, r.fail(cand.addr, "read replication status", err)
	}
	if st == nil {
		return r, nil, r.fail(cand.addr, "check role", errors.New("it is not replicating"))
	}
	r.add(cand.addr, "check candidate", OK, "")

	// 1. Stop writes on the old primary and read its final position.
	wasReadOnly, err := old.queryBool(ctx, "SELECT @@GLOBAL.read_only")
	if err != nil {
		return r, nil, r.fail(old.addr, "read read_only", err)
	}
	if err := c.setReadOnly(ctx, r, old, true); err != nil {
		return r, nil, err
	}
	pos, err := old.queryString(ctx, old.dialect.GTIDExecuted())
	if err != nil {
		c.restoreWritable(ctx, r, old, wasReadOnly)
		return r, nil, r.fail(old.addr, "read GTID position", err)
	}
	r.add(old.addr, "read final GTID position", OK, displayGTID(pos))

	// 2. Wait for the candidate; give up without change if it lags.
	if err := c.waitCaughtUpTo(ctx, r, cand, pos); err != nil {
		c.restoreWritable(ctx, r, old, wasReadOnly)
		return r, nil, err
	}

	// 3. The candidate becomes the primary.
	action := "become primary"
	if err := cand.exec(ctx, cand.dialect.StopReplica()); err != nil {
		return r, nil, r.fail(cand.addr, action, err)
	}
	if err := cand.exec(ctx, cand.dialect.ResetReplica()); err != nil {
		return r, nil, r.fail(cand.addr, action, err)
	}
	r.add(cand.addr, action, Changed, "replication stopped and reset")
	if err := c.setReadOnly(ctx, r, cand, false); err != nil {
		return r, nil, err
	}

	// 4. Everyone else follows the candidate.
	host, port, err := splitAddr(cand.addr)
	if err != nil {
		return r, nil, err
	}
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	next := &Cluster{}
	*next = *c
	next.Primary = c.Replicas[idx]
	next.Replicas = nil
	for i, rep := range t.replicas {
		if i == idx {
			continue
		}
		next.Replicas = append(next.Replicas, c.Replicas[i])
		if err := c.pointAt(ctx, rep, host, port); err != nil {
			keep(r.fail(rep.addr, "replicate from "+cand.addr, err))
			continue
		}
		r.add(rep.addr, "replicate from "+cand.addr, Changed, "")
	}
	next.Replicas = append(next.Replicas, c.Primary)
	action = "replicate from " + cand.addr
	if old.dialect.Flavor == MariaDB {
		// The old primary has applied its own binary log: start there.
		if err := old.exec(ctx, old.dialect.StopReplica()); err != nil {
			keep(r.fail(old.addr, action, err))
		} else if err := old.exec(ctx, "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos"); err != nil {
			keep(r.fail(old.addr, action, err))
		}
	}
	if first == nil {
		if err := c.pointAt(ctx, old, host, port); err != nil {
			keep(r.fail(old.addr, action, err))
		} else {
			r.add(old.addr, action, Changed, "now a read-only replica")
		}
	}
	if first != nil {
		return r, next, first
	}
	for i, rep := range t.replicas {
		if i != idx {
			keep(c.waitCaughtUp(ctx, r, cand, rep))
		}
	}
	keep(c.waitCaughtUp(ctx, r, cand, old))
	return r, next, first
}

// waitCaughtUpTo waits until rep has applied pos.
func (c *Cluster) waitCaughtUpTo(ctx context.Context, r *Report, rep *server, pos string) error {
	action := "catch up to " + displayGTID(pos)
	ok, err := waitGTID(ctx, rep, pos, c.catchUp())
	if err != nil {
		return r.fail(rep.addr, action, err)
	}
	if !ok {
		return r.fail(rep.addr, action, fmt.Errorf("not caught up after %s; nothing was switched", c.catchUp()))
	}
	r.add(rep.addr, action, OK, "")
	return nil
}

// restoreWritable undoes step 1 of Promote after a failure.
func (c *Cluster) restoreWritable(ctx context.Context, r *Report, old *server, wasReadOnly bool) {
	if !wasReadOnly {
		_ = c.setReadOnly(context.WithoutCancel(ctx), r, old, false)
	}
}

// undoDemote makes the primary writable again.
func (c *Cluster) undoDemote(ctx context.Context) (*Report, error) {
	r := &Report{}
	t, err := c.openValid(ctx, r, false, nil)
	if err != nil {
		return r, err
	}
	defer t.close()
	st, err := t.primary.replicaStatus(ctx)
	if err != nil {
		return r, r.fail(t.primary.addr, "read replication status", err)
	}
	if st != nil && st["host"] != "" {
		return r, r.fail(t.primary.addr, "check role", fmt.Errorf("it replicates from %s", joinHostPort(st["host"], st["port"])))
	}
	return r, c.setReadOnly(ctx, r, t.primary, false)
}
