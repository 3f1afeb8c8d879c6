package dbcluster

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Server is one database server as `orchard db` reaches it.
type Server struct {
	// Addr is "host:port", as the other servers reach it for replication.
	Addr string
	// DSN is a go-sql-driver/mysql DSN of an administrative account on the
	// server (one that may CREATE USER, GRANT, change replication and
	// read_only). Its database name is ignored.
	DSN string
}

// Account is a database account that Init creates.
type Account struct {
	User     string // letters, digits and '_'
	Host     string // where it may connect from; default "%"
	Password string // never printed
}

// Cluster is a primary and its replicas, and what Init sets up on them. Its
// methods report every step per server and return the first failure.
type Cluster struct {
	Primary  Server
	Replicas []Server
	Database string  // the application's database, e.g. "orchard"
	App      Account // the application's account: data privileges on Database
	Repl     Account // the account replicas connect with: REPLICATION SLAVE
	// CatchUpTimeout bounds how long a replica may take to reach the
	// primary's position (Init, Promote). Default 30s.
	CatchUpTimeout time.Duration
	Logger         *slog.Logger
}

// Outcomes of a step.
const (
	Changed   = "changed"   // the step changed the server
	Unchanged = "unchanged" // already so; nothing done
	OK        = "ok"        // a check or a read that passed
	Warning   = "warning"   // not fatal, but worth fixing
	Failed    = "failed"
)

// Step is the result of one action on one server.
type Step struct {
	Server  string // its address
	Action  string // e.g. "create database `orchard`"
	Outcome string // Changed, Unchanged, OK, Warning or Failed
	Detail  string // e.g. the version, a GTID position or the error; never a password
	Err     error  `json:"-"`
}

// Report lists the steps an operation took, in order.
type Report struct {
	Steps []Step
}

func (r *Report) add(server, action, outcome, detail string) {
	r.Steps = append(r.Steps, Step{Server: server, Action: action, Outcome: outcome, Detail: detail})
}

// fail records a failed step and returns its error, wrapped with the server
// and the action.
func (r *Report) fail(server, action string, err error) error {
	detail := err.Error()
	err = fmt.Errorf("%s: %s: %w", server, action, err)
	r.Steps = append(r.Steps, Step{Server: server, Action: action, Outcome: Failed, Detail: detail, Err: err})
	return err
}

// Changed reports whether any step changed a server.
func (r *Report) Changed() bool {
	for _, s := range r.Steps {
		if s.Outcome == Changed {
			return true
		}
	}
	return false
}

func (c *Cluster) catchUp() time.Duration {
	if c.CatchUpTimeout > 0 {
		return c.CatchUpTimeout
	}
	return 30 * time.Second
}

func (c *Cluster) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// openValid validates c (see validate) and opens the primary and replicas
// (see open).
func (c *Cluster) openValid(ctx context.Context, r *Report, needAccounts bool, replicas []Server) (*topology, error) {
	if err := c.validate(needAccounts); err != nil {
		return nil, err
	}
	return c.open(ctx, r, replicas)
}

// validate checks every name before SQL is built with it.
func (c *Cluster) validate(needAccounts bool) error {
	if err := validateName("database", c.Database, 64); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, s := range append([]Server{c.Primary}, c.Replicas...) {
		if _, _, err := splitAddr(s.Addr); err != nil {
			return err
		}
		if seen[s.Addr] {
			return fmt.Errorf("server %s is listed twice", s.Addr)
		}
		seen[s.Addr] = true
	}
	if !needAccounts {
		return nil
	}
	if err := c.App.validate("application"); err != nil {
		return err
	}
	if err := c.Repl.validate("replication"); err != nil {
		return err
	}
	if c.App.User == c.Repl.User {
		return fmt.Errorf("the application and replication users must differ (both %q)", c.App.User)
	}
	return nil
}

// topology is the open servers of an operation.
type topology struct {
	primary  *server
	replicas []*server
}

func (t *topology) close() {
	t.primary.close()
	for _, r := range t.replicas {
		r.close()
	}
}

// open connects to the primary and the replicas, recording a step for each.
func (c *Cluster) open(ctx context.Context, r *Report, replicas []Server) (*topology, error) {
	t := &topology{}
	var first error
	readTimeout := c.catchUp() + 30*time.Second
	for i, srv := range append([]Server{c.Primary}, replicas...) {
		s, err := connect(ctx, srv, readTimeout)
		if err != nil {
			if first == nil {
				first = r.fail(srv.Addr, "connect", err)
			} else {
				r.fail(srv.Addr, "connect", err)
			}
			continue
		}
		r.add(srv.Addr, "connect", OK, s.dialect.String())
		if i == 0 {
			t.primary = s
		} else {
			t.replicas = append(t.replicas, s)
		}
	}
	if first != nil {
		t.close()
		return nil, first
	}
	return t, nil
}
