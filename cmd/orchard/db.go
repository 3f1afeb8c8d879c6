package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/dbcluster"
)

// Environment variables orchard db reads secrets from; none is ever printed.
const (
	envAdminPassword = "ORCHARD_DB_ADMIN_PASSWORD"
	envReplPassword  = "ORCHARD_DB_REPL_PASSWORD"
)

func newDBCmd() *cobra.Command {
	db := &cobra.Command{
		Use:   "db",
		Short: "Set up and run MySQL/MariaDB replication (init, status, promote, ...)",
		Long: `orchard db manages the primary and replicas named in the cluster file's
[database] section (driver = "mysql"): it creates the database and the
application and replication accounts, makes the replicas read-only and
replicates them from the primary by GTID, and reports, switches over and
wipes. Every verb is idempotent and reports each step per server.

It connects to each server with an administrative account: --admin-user
(default root) with the password in $ORCHARD_DB_ADMIN_PASSWORD. The
application password comes from the primary DSN, password_file or
$ORCHARD_DB_PASSWORD; the replication password from $ORCHARD_DB_REPL_PASSWORD,
else it is derived from the cluster secret. No password is ever printed.`,
	}
	f := db.PersistentFlags()
	f.String("admin-user", "root", "administrative account on every server (password: $"+envAdminPassword+")")
	f.String("app-host", "%", "host part of the application account (e.g. 10.0.1.%)")
	f.String("repl-user", "orchard_repl", "replication account (password: $"+envReplPassword+", else derived from the cluster secret)")
	f.Duration("timeout", 30*time.Second, "how long a replica may take to catch up")
	f.Bool("json", false, "print JSON")

	db.AddCommand(
		dbVerb("init", "Create the database and accounts and start replicating every replica from the primary", (*dbcluster.Cluster).Init),
		dbVerb("start", "Start replication on every replica", (*dbcluster.Cluster).Start),
		dbVerb("stop", "Stop replication on every replica", (*dbcluster.Cluster).Stop),
		dbVerb("demote", "Stop writes on the primary (read_only); `db promote PRIMARY` undoes it", (*dbcluster.Cluster).Demote),
		newDBStatusCmd(),
		newDBAddCmd(),
		newDBRemoveCmd(),
		newDBPromoteCmd(),
		newDBWipeCmd(),
	)
	return db
}

// dbVerb is a verb that takes no argument and prints the step report of
// run, a method of the cluster (Init, Start...).
func dbVerb(use, short string, run func(*dbcluster.Cluster, context.Context) (*dbcluster.Report, error)) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := loadDBCluster(cmd)
			if err != nil {
				return err
			}
			r, err := run(c.Cluster, cmd.Context())
			return printReport(cmd, r, err)
		},
	}
}

func newDBStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show each server's role, read_only, replication threads, lag, GTID position and last error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := loadDBCluster(cmd)
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
			} else {
				tw := newTable(out, "SERVER\tROLE\tREAD_ONLY\tIO\tSQL\tLAG\tGTID\tSOURCE\tERROR")
				for _, s := range st {
					role := s.Role
					if s.Role != s.Expected {
						role += " (want " + s.Expected + ")"
					}
					lag := "-"
					if s.LagSeconds >= 0 && s.Role == dbcluster.RoleReplica {
						lag = strconv.Itoa(s.LagSeconds) + "s"
					}
					fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Addr, role, s.ReadOnly,
						dbDash(s.IORunning), dbDash(s.SQLRunning), lag, dbDash(s.GTID), dbDash(s.Source), dbOneLine(s.LastError))
				}
				tw.Flush()
			}
			bad := 0
			for _, s := range st {
				if !s.Healthy() {
					bad++
				}
			}
			if bad > 0 {
				return fmt.Errorf("%d of %d servers are not as the cluster file says", bad, len(st))
			}
			return nil
		},
	}
}

// dbServerVerb is a db command on one server, HOST[:PORT], of the cluster
// file's database.
func dbServerVerb(use, short string, run func(cmd *cobra.Command, c *dbClusterWithSettings, d *dbSettings, addr string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, d, err := loadDBCluster(cmd)
			if err != nil {
				return err
			}
			addr, err := serverAddr(args[0])
			if err != nil {
				return err
			}
			return run(cmd, c, d, addr)
		},
	}
}

func newDBAddCmd() *cobra.Command {
	return dbServerVerb("add HOST[:PORT]", "Make a server a read-only replica of the primary (then add it to the cluster file)", func(cmd *cobra.Command, c *dbClusterWithSettings, d *dbSettings, addr string) error {
		for _, s := range c.Replicas {
			if s.Addr == addr {
				return usagef("%s is already a replica in the cluster file; `orchard db init` repairs its replication", addr)
			}
		}
		r, err := c.Add(cmd.Context(), c.serverFor(addr))
		if err := printReport(cmd, r, err); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "\nAdd it to the cluster file's [database] replicas:\n  %q\n", d.dsnFor(addr))
		return nil
	})
}

func newDBRemoveCmd() *cobra.Command {
	return dbServerVerb("remove HOST[:PORT]", "Stop a replica replicating (it stays read-only; then remove it from the cluster file)", func(cmd *cobra.Command, c *dbClusterWithSettings, _ *dbSettings, addr string) error {
		r, err := c.Remove(cmd.Context(), c.serverFor(addr))
		return printReport(cmd, r, err)
	})
}

func newDBPromoteCmd() *cobra.Command {
	return dbServerVerb("promote HOST[:PORT]", "Make a replica the primary with no lost write, and repoint the others", func(cmd *cobra.Command, c *dbClusterWithSettings, d *dbSettings, addr string) error {
		known := addr == c.Primary.Addr
		for _, s := range c.Replicas {
			known = known || s.Addr == addr
		}
		if !known {
			return usagef("%s is not in the cluster file's [database] section", addr)
		}
		r, next, err := c.Promote(cmd.Context(), addr)
		if err := printReport(cmd, r, err); err != nil {
			return err
		}
		if next != nil && next.Primary.Addr != c.Primary.Addr {
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "\n%s is the primary now. Set the cluster file's [database] to:\n", next.Primary.Addr)
			fmt.Fprintf(out, "  primary = %q\n  replicas = [", d.dsnFor(next.Primary.Addr))
			for i, s := range next.Replicas {
				if i > 0 {
					fmt.Fprint(out, ", ")
				}
				fmt.Fprintf(out, "%q", d.dsnFor(s.Addr))
			}
			fmt.Fprintln(out, "]")
		}
		return nil
	})
}

func newDBWipeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wipe",
		Short: "Drop the database and the accounts everywhere and stop replication (asks first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := loadDBCluster(cmd)
			if err != nil {
				return err
			}
			if yes, _ := cmd.Flags().GetBool("yes"); !yes {
				if err := confirmWipe(cmd, c.Database); err != nil {
					return err
				}
			}
			r, err := c.Wipe(cmd.Context())
			return printReport(cmd, r, err)
		},
	}
	cmd.Flags().Bool("yes", false, "do not ask for confirmation")
	return cmd
}

// confirmWipe asks for the database name on a terminal; without one (and
// without --yes) it refuses.
func confirmWipe(cmd *cobra.Command, database string) error {
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return usagef("wipe drops database %q on every server: run it on a terminal, or add --yes", database)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "This drops database %q and its accounts on every server. Type the database name to go on: ", database)
	line, err := bufio.NewReader(io.LimitReader(in, 256)).ReadString('\n')
	if err != nil && line == "" {
		return usagef("wipe: not confirmed")
	}
	if strings.TrimSpace(line) != database {
		return usagef("wipe: not confirmed (you typed %q)", strings.TrimSpace(line))
	}
	return nil
}

// printReport prints the steps (a table, or JSON with --json) and returns err.
func printReport(cmd *cobra.Command, r *dbcluster.Report, err error) error {
	out := cmd.OutOrStdout()
	if r != nil {
		if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			if e := enc.Encode(r.Steps); e != nil && err == nil {
				err = e
			}
		} else {
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			for _, s := range r.Steps {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Server, s.Action, s.Outcome, dbOneLine(s.Detail))
			}
			tw.Flush()
		}
	}
	return err
}

func dbDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func dbOneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// serverAddr turns "host" or "host:port" into "host:port" (default 3306).
func serverAddr(s string) (string, error) {
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s, nil
	}
	if strings.Contains(s, ":") && !strings.HasPrefix(s, "[") {
		return "", usagef("server %q: use HOST or HOST:PORT", s)
	}
	return net.JoinHostPort(strings.Trim(s, "[]"), "3306"), nil
}

// dbSettings is what orchard db took from the cluster file and flags.
type dbSettings struct {
	app      *mysql.Config            // the primary DSN, parsed
	byAddr   map[string]*mysql.Config // each configured server's DSN, parsed
	admin    string
	adminPW  string
	database string
}

// dsnFor returns the application DSN for a server, without its password.
func (d *dbSettings) dsnFor(addr string) string {
	cfg := d.byAddr[addr]
	if cfg == nil {
		cfg = d.app
	}
	cfg = cfg.Clone()
	cfg.Addr, cfg.Passwd = addr, ""
	return cfg.FormatDSN()
}

// adminDSN returns the DSN of the administrative account on addr.
func (d *dbSettings) adminDSN(addr string) string {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = d.admin, d.adminPW, "tcp", addr
	cfg.Timeout = 5 * time.Second
	if app := d.byAddr[addr]; app != nil {
		cfg.TLSConfig, cfg.TLS = app.TLSConfig, app.TLS
	}
	return cfg.FormatDSN()
}

// serverFor returns the dbcluster.Server of an address, known or new.
func (c *dbClusterWithSettings) serverFor(addr string) dbcluster.Server {
	return dbcluster.Server{Addr: addr, DSN: c.settings.adminDSN(addr)}
}

// dbClusterWithSettings is a Cluster that remembers how it was made.
type dbClusterWithSettings struct {
	*dbcluster.Cluster
	settings *dbSettings
}

// loadDBCluster builds a dbcluster.Cluster from the cluster file and flags.
func loadDBCluster(cmd *cobra.Command) (*dbClusterWithSettings, *dbSettings, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, nil, err
	}
	return dbClusterFromConfig(cmd, cfg)
}

func dbClusterFromConfig(cmd *cobra.Command, cfg *config.Config) (*dbClusterWithSettings, *dbSettings, error) {
	d := cfg.Database
	if d.Driver != "mysql" {
		return nil, nil, usagef("%s: orchard db manages MySQL/MariaDB, and database.driver is %q", cfg.Path, d.Driver)
	}
	s := &dbSettings{byAddr: map[string]*mysql.Config{}}
	var err error
	parse := func(key, dsn string) (*mysql.Config, error) {
		m, err := mysql.ParseDSN(dsn)
		if err != nil {
			return nil, usagef("%s: %s is not a valid DSN (user@tcp(host:port)/database)", cfg.Path, key)
		}
		if m.Net != "tcp" {
			return nil, usagef("%s: %s must use tcp(host:port): replicas reach the primary over TCP", cfg.Path, key)
		}
		return m, nil
	}
	if s.app, err = parse("database.primary", d.Primary); err != nil {
		return nil, nil, err
	}
	if s.app.DBName == "" {
		return nil, nil, usagef("%s: database.primary names no database", cfg.Path)
	}
	s.database = s.app.DBName
	s.byAddr[s.app.Addr] = s.app
	appPW := s.app.Passwd
	if appPW == "" {
		if appPW, err = dbPassword(d); err != nil {
			return nil, nil, err
		}
	}
	f := cmd.Flags()
	s.admin, _ = f.GetString("admin-user")
	s.adminPW = os.Getenv(envAdminPassword)
	appHost, _ := f.GetString("app-host")
	replUser, _ := f.GetString("repl-user")
	timeout, _ := f.GetDuration("timeout")
	replPW := os.Getenv(envReplPassword)
	if replPW == "" {
		replPW = derivedReplPassword(cfg.Secret)
	}
	c := &dbcluster.Cluster{
		Database:       s.database,
		App:            dbcluster.Account{User: s.app.User, Host: appHost, Password: appPW},
		Repl:           dbcluster.Account{User: replUser, Password: replPW},
		CatchUpTimeout: timeout,
		Logger:         slog.Default(),
	}
	w := &dbClusterWithSettings{Cluster: c, settings: s}
	c.Primary = w.serverFor(s.app.Addr)
	for i, r := range d.Replicas {
		m, err := parse(fmt.Sprintf("database.replicas[%d]", i), r)
		if err != nil {
			return nil, nil, err
		}
		if _, dup := s.byAddr[m.Addr]; dup {
			return nil, nil, usagef("%s: server %s is listed twice in [database]", cfg.Path, m.Addr)
		}
		s.byAddr[m.Addr] = m
		c.Replicas = append(c.Replicas, w.serverFor(m.Addr))
	}
	return w, s, nil
}

// derivedReplPassword makes the replication password from the cluster
// secret, so every machine that has the secret agrees on it without
// another secret to store.
func derivedReplPassword(secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("orchard db replication password"))
	return hex.EncodeToString(m.Sum(nil))[:32]
}
