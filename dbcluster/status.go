package dbcluster

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// Roles a server can have in Status.
const (
	RolePrimary     = "primary"     // writable, replicating from no one
	RoleReplica     = "replica"     // replicating from a source
	RoleStandalone  = "standalone"  // read-only and replicating from no one
	RoleUnreachable = "unreachable" // could not be asked
)

// ServerStatus is what Status reports for one server.
type ServerStatus struct {
	Addr     string `json:"addr"`
	Expected string `json:"expected"` // the role the cluster file gives it: primary or replica
	Role     string `json:"role"`     // the role it has: one of the Role constants
	Version  string `json:"version,omitempty"`
	ReadOnly bool   `json:"read_only"`
	Source   string `json:"source,omitempty"` // host:port it replicates from
	// IORunning and SQLRunning are the replication threads' states
	// ("Yes", "No", "Connecting"); empty on a primary.
	IORunning  string `json:"io_running,omitempty"`
	SQLRunning string `json:"sql_running,omitempty"`
	// LagSeconds is Seconds_Behind_Master; -1 when unknown (threads stopped).
	LagSeconds int    `json:"lag_seconds"`
	GTID       string `json:"gtid"`                 // applied GTID position
	LastError  string `json:"last_error,omitempty"` // the last IO or SQL thread error, or why it could not be asked
}

// Healthy reports whether the server plays the role the cluster file gives it.
func (s ServerStatus) Healthy() bool {
	switch s.Expected {
	case RolePrimary:
		return s.Role == RolePrimary
	default:
		return s.Role == RoleReplica && s.IORunning == "Yes" && s.SQLRunning == "Yes" && s.LastError == ""
	}
}

// Status asks every server, in parallel, for its role, read_only, the
// replication threads, lag, GTID position and last error. A server that
// cannot be asked is reported as unreachable, not as an error.
func (c *Cluster) Status(ctx context.Context) ([]ServerStatus, error) {
	if err := c.validate(false); err != nil {
		return nil, err
	}
	all := append([]Server{c.Primary}, c.Replicas...)
	out := make([]ServerStatus, len(all))
	var wg sync.WaitGroup
	for i, srv := range all {
		expected := RoleReplica
		if i == 0 {
			expected = RolePrimary
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = serverStatus(ctx, srv, expected)
		}()
	}
	wg.Wait()
	return out, nil
}

func serverStatus(ctx context.Context, srv Server, expected string) ServerStatus {
	st := ServerStatus{Addr: srv.Addr, Expected: expected, Role: RoleUnreachable, LagSeconds: -1}
	s, err := connect(ctx, srv, 30*time.Second)
	if err != nil {
		st.LastError = err.Error()
		return st
	}
	defer s.close()
	st.Version = s.dialect.String()
	if st.ReadOnly, err = s.queryBool(ctx, "SELECT @@GLOBAL.read_only"); err != nil {
		st.LastError = err.Error()
		return st
	}
	if st.GTID, err = s.queryString(ctx, s.dialect.GTIDCurrent()); err != nil {
		st.LastError = err.Error()
		return st
	}
	rs, err := s.replicaStatus(ctx)
	if err != nil {
		st.LastError = err.Error()
		return st
	}
	switch {
	case rs != nil && rs["host"] != "":
		st.Role = RoleReplica
		st.Source = joinHostPort(rs["host"], rs["port"])
		st.IORunning, st.SQLRunning = rs["io"], rs["sql"]
		if n, err := strconv.Atoi(rs["lag"]); err == nil {
			st.LagSeconds = n
		}
		st.LastError = rs["io_error"]
		if st.LastError == "" {
			st.LastError = rs["sql_error"]
		}
	case st.ReadOnly:
		st.Role = RoleStandalone
	default:
		st.Role = RolePrimary
		st.LagSeconds = 0
	}
	return st
}
