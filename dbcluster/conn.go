package dbcluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	orchard "github.com/orchardhq/orchard"
)

// server is an open administrative connection pool to one server.
type server struct {
	addr    string
	db      *sql.DB
	dialect Dialect
	version string
}

// connect opens an administrative pool to srv and reads its version. The
// pool interpolates parameters on the client (escaped by the driver), because
// CHANGE MASTER and IDENTIFIED BY accept only literals.
func connect(ctx context.Context, srv Server, readTimeout time.Duration) (*server, error) {
	cfg, err := mysql.ParseDSN(srv.DSN)
	if err != nil {
		return nil, fmt.Errorf("admin DSN of %s: %w", srv.Addr, errors.New(redactDSNError(err)))
	}
	cfg.DBName = ""
	cfg.InterpolateParams = true
	cfg.MultiStatements = false
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	cfg.ReadTimeout = readTimeout
	cfg.WriteTimeout = 30 * time.Second
	cfg.Logger = nopLogger{}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", srv.Addr, err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(4)
	db.SetConnMaxLifetime(5 * time.Minute)
	s := &server{addr: srv.Addr, db: db}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout+5*time.Second)
	defer cancel()
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&s.version); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s as %q: %w", srv.Addr, cfg.User, explain(err))
	}
	if s.dialect, err = ParseVersion(s.version); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", srv.Addr, err)
	}
	return s, nil
}

// explain turns the driver's errors into messages that say what to do.
func explain(err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1045:
			return fmt.Errorf("access denied (wrong user or password; the admin password comes from $ORCHARD_DB_ADMIN_PASSWORD): %w", err)
		case 1227, 1044, 1142:
			return fmt.Errorf("the account lacks a privilege this step needs: %w", err)
		}
	}
	var ne net.Error
	if errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused") {
		return fmt.Errorf("server unreachable (is it running, and is the address right?): %w", err)
	}
	return err
}

// redactDSNError keeps a DSN parse error from echoing the DSN (and so a
// password) back to the terminal.
func redactDSNError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ":"); i >= 0 && strings.Contains(msg[i:], "@") {
		return msg[:i] + ": malformed DSN"
	}
	return msg
}

func (s *server) close() {
	if s != nil && s.db != nil {
		s.db.Close()
	}
}

// replicaStatus is the first row of SHOW SLAVE/REPLICA STATUS, by orchard's
// column names; nil when the server replicates from no one.
func (s *server) replicaStatus(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, s.dialect.ShowReplicaStatus())
	if err != nil {
		return nil, explain(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !rows.Next() {
		return nil, rows.Err()
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	m := map[string]string{}
	for i, c := range cols {
		if name, ok := replicaColumns[c]; ok && vals[i].Valid {
			if m[name] == "" {
				m[name] = vals[i].String
			}
		}
	}
	if _, ok := m["lag"]; !ok {
		m["lag"] = "" // NULL: not replicating
	}
	return m, rows.Err()
}

// queryString runs a one-value query.
func (s *server) queryString(ctx context.Context, q string, args ...any) (string, error) {
	var v sql.NullString
	if err := s.db.QueryRowContext(ctx, q, args...).Scan(&v); err != nil {
		return "", explain(err)
	}
	return v.String, nil
}

func (s *server) queryBool(ctx context.Context, q string) (bool, error) {
	v, err := s.queryString(ctx, q)
	if err != nil {
		return false, err
	}
	return v == "1" || strings.EqualFold(v, "ON"), nil
}

func (s *server) exec(ctx context.Context, q string, args ...any) error {
	if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
		return explain(err)
	}
	return nil
}

// splitAddr splits "host:port" for CHANGE MASTER.
func splitAddr(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("address %q has an invalid port", addr)
	}
	if !validHost(host) {
		return "", 0, fmt.Errorf("address %q has an invalid host", addr)
	}
	return host, port, nil
}

// validHost accepts IP addresses and DNS names, the only hosts orchard
// writes into CHANGE MASTER.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if !orchard.ValidName(label, 63) || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
	}
	return true
}
