package dbcluster

import (
	"context"
)

// Wipe undoes Init: it drops the database and both accounts on the primary
// (replication carries the drops to the replicas), waits for the replicas to
// apply them, then stops and resets replication on each replica and makes it
// writable. The caller asks for confirmation first. Running it twice
// changes nothing the second time.
func (c *Cluster) Wipe(ctx context.Context) (*Report, error) {
	r := &Report{}
	t, err := c.openValid(ctx, r, false, c.Replicas)
	if err != nil {
		return r, err
	}
	defer t.close()
	if err := checkPrimaryRole(ctx, r, t.primary); err != nil {
		return r, err
	}
	if err := c.dropAll(ctx, r, t.primary); err != nil {
		return r, err
	}
	var first error
	for _, rep := range t.replicas {
		st, err := rep.replicaStatus(ctx)
		if err != nil {
			if first == nil {
				first = r.fail(rep.addr, "read replication status", err)
			}
			continue
		}
		if st == nil {
			r.add(rep.addr, "remove replication", Unchanged, "not replicating")
		} else {
			if st["io"] == "Yes" && st["sql"] == "Yes" {
				_ = c.waitCaughtUp(ctx, r, t.primary, rep)
			}
			if err := rep.exec(ctx, rep.dialect.StopReplica()); err == nil {
				err = rep.exec(ctx, rep.dialect.ResetReplica())
			}
			if err != nil {
				if first == nil {
					first = r.fail(rep.addr, "remove replication", err)
				}
				continue
			}
			r.add(rep.addr, "remove replication", Changed, "")
		}
		// What replication did not carry (it was stopped or broken) is
		// dropped here.
		if err := c.dropAll(ctx, r, rep); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		if err := c.setReadOnly(ctx, r, rep, false); err != nil && first == nil {
			first = err
		}
	}
	return r, first
}

// dropAll drops the database and both accounts on s when they exist.
func (c *Cluster) dropAll(ctx context.Context, r *Report, s *server) error {
	action := "drop database " + quoteIdent(c.Database)
	n, err := s.queryString(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", c.Database)
	if err != nil {
		return r.fail(s.addr, action, err)
	}
	if n == "0" {
		r.add(s.addr, action, Unchanged, "not there")
	} else if err := s.exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(c.Database)); err != nil {
		return r.fail(s.addr, action, err)
	} else {
		r.add(s.addr, action, Changed, "")
	}
	for _, a := range []Account{c.App, c.Repl} {
		if a.User == "" {
			continue
		}
		if err := validateName("user", a.User, 32); err != nil {
			return err
		}
		if err := validateAccountHost(a.host()); err != nil {
			return err
		}
		action := "drop user " + a.account()
		n, err := s.queryString(ctx, "SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?", a.User, a.host())
		if err != nil {
			return r.fail(s.addr, action, err)
		}
		if n == "0" {
			r.add(s.addr, action, Unchanged, "not there")
			continue
		}
		if err := s.exec(ctx, "DROP USER IF EXISTS "+a.account()); err != nil {
			return r.fail(s.addr, action, err)
		}
		r.add(s.addr, action, Changed, "")
	}
	return nil
}
