package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	orchard "github.com/orchardhq/orchard"
)

// Options tunes a DB. The zero value is usable: every field has a default.
type Options struct {
	// Password is used for a DSN that has no password (it comes from the
	// cluster file's password_file or from $ORCHARD_DB_PASSWORD).
	Password string
	// MaxLag is the replication lag beyond which a replica is skipped
	// (default 5s).
	MaxLag time.Duration
	// CheckInterval is how often each replica's health is checked
	// (default 1s).
	CheckInterval time.Duration
	// ReplicaWait is how long a read may wait for a replica to apply the
	// last write before it goes to the primary instead (default 0: never
	// wait).
	ReplicaWait time.Duration
	// MaxOpenConns bounds each server's pool (default 16); MaxIdleConns
	// (default 8) stay open between requests.
	MaxOpenConns int
	MaxIdleConns int
	// ConnMaxLifetime (default 5m) and ConnMaxIdleTime (default 1m) recycle
	// connections, so a switch-over or a restarted server is picked up.
	ConnMaxLifetime time.Duration
	ConnMaxIdleTime time.Duration
	// DialTimeout bounds connecting (default 5s); IOTimeout bounds each
	// read or write on a connection (default 60s).
	DialTimeout time.Duration
	IOTimeout   time.Duration
	Logger      *slog.Logger
}

func (o *Options) setDefaults() {
	o.MaxLag = orchard.OrDefault(o.MaxLag, 5*time.Second)
	o.CheckInterval = orchard.OrDefault(o.CheckInterval, time.Second)
	o.MaxOpenConns = orchard.OrDefault(o.MaxOpenConns, 16)
	o.MaxIdleConns = orchard.OrDefault(o.MaxIdleConns, 8)
	if o.MaxIdleConns > o.MaxOpenConns {
		o.MaxIdleConns = o.MaxOpenConns
	}
	o.ConnMaxLifetime = orchard.OrDefault(o.ConnMaxLifetime, 5*time.Minute)
	o.ConnMaxIdleTime = orchard.OrDefault(o.ConnMaxIdleTime, time.Minute)
	o.DialTimeout = orchard.OrDefault(o.DialTimeout, 5*time.Second)
	o.IOTimeout = orchard.OrDefault(o.IOTimeout, 60*time.Second)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// DB is an orchard.Store on a MySQL or MariaDB primary and its replicas.
type DB struct {
	opts     Options
	logger   *slog.Logger
	primary  *sql.DB
	paddr    string
	flavor   flavor
	replicas []*replica
	rr       atomic.Uint64 // round-robin cursor
	reads    atomic.Uint64 // reads served by the primary

	// Read-your-writes: pos is the primary's GTID position read after the
	// write numbered posVer; a replica that has applied pos has every write
	// that returned before posVer was taken.
	writeVer atomic.Uint64
	mu       sync.Mutex
	posVer   uint64
	pos      string
	// primaryUntil forces reads to the primary after a write whose
	// position could not be read.
	primaryUntil time.Time

	// afterMove, when set, runs in each transaction of moveSites after the
	// site's rows are copied, before the commit; an error rolls the site
	// back and fails Open. Tests use it to stop an upgrade half-way.
	afterMove func(host string) error

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

var _ orchard.Store = (*DB)(nil)

// Open connects to the primary (checking the account, the database and the
// schema, and migrating it) and to each replica (checking its health once),
// and starts a health check per replica. DSNs are go-sql-driver/mysql DSNs,
// e.g. "orchard@tcp(10.0.1.10:3306)/orchard"; orchard sets utf8mb4, UTC and
// strict SQL on them. A replica that cannot be reached is not an error: it
// is skipped until it answers.
func Open(ctx context.Context, primary string, replicas []string, opts Options) (*DB, error) {
	return open(ctx, primary, replicas, opts, nil)
}

// open is Open with a hook for moveSites (see DB.afterMove).
func open(ctx context.Context, primary string, replicas []string, opts Options, afterMove func(host string) error) (*DB, error) {
	opts.setDefaults()
	d := &DB{opts: opts, logger: opts.Logger.With("component", "mysql"), afterMove: afterMove}
	pcfg, err := d.config(primary)
	if err != nil {
		return nil, fmt.Errorf("mysql primary: %w", err)
	}
	if pcfg.DBName == "" {
		return nil, errors.New("mysql primary: the DSN names no database (e.g. user@tcp(host:3306)/orchard)")
	}
	d.paddr = pcfg.Addr
	if d.primary, err = d.pool(pcfg); err != nil {
		return nil, err
	}
	if err := d.ping(ctx, d.primary, pcfg); err != nil {
		d.primary.Close()
		return nil, err
	}
	var version string
	if err := d.primary.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		d.primary.Close()
		return nil, fmt.Errorf("mysql %s: %w", pcfg.Addr, err)
	}
	d.flavor = flavorOf(version)
	if err := d.migrate(ctx); err != nil {
		d.primary.Close()
		return nil, err
	}
	for _, dsn := range replicas {
		cfg, err := d.config(dsn)
		if err != nil {
			d.closePools()
			return nil, fmt.Errorf("mysql replica: %w", err)
		}
		if cfg.DBName != pcfg.DBName {
			d.closePools()
			return nil, fmt.Errorf("mysql replica %s names database %q, the primary %q", cfg.Addr, cfg.DBName, pcfg.DBName)
		}
		db, err := d.pool(cfg)
		if err != nil {
			d.closePools()
			return nil, err
		}
		d.replicas = append(d.replicas, &replica{addr: cfg.Addr, db: db})
	}
	// First health check of every replica, in parallel, before serving.
	var wg sync.WaitGroup
	for _, r := range d.replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.check(ctx, r)
		}()
	}
	wg.Wait()
	if len(d.replicas) > 0 {
		loopCtx, cancel := context.WithCancel(context.Background())
		d.cancel = cancel
		for _, r := range d.replicas {
			d.wg.Add(1)
			go d.healthLoop(loopCtx, r)
		}
	}
	return d, nil
}

// config parses a DSN and sets what orchard needs on it.
func (d *DB) config(dsn string) (*mysql.Config, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		// The driver's message may quote the DSN, and with it a password.
		return nil, errors.New("malformed DSN (expected user[:password]@tcp(host:port)/database)")
	}
	if cfg.Passwd == "" {
		cfg.Passwd = d.opts.Password
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.Collation = "utf8mb4_bin"
	cfg.InterpolateParams = true // one round trip per query; the driver escapes every value
	cfg.MultiStatements = false
	cfg.AllowAllFiles = false
	cfg.Timeout = d.opts.DialTimeout
	cfg.ReadTimeout = d.opts.IOTimeout
	cfg.WriteTimeout = d.opts.IOTimeout
	cfg.Logger = driverLogger{d.opts.Logger}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	cfg.Params["sql_mode"] = "'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'"
	return cfg, nil
}

func (d *DB) pool(cfg *mysql.Config) (*sql.DB, error) {
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql %s: %w", cfg.Addr, err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(d.opts.MaxOpenConns)
	db.SetMaxIdleConns(d.opts.MaxIdleConns)
	db.SetConnMaxLifetime(d.opts.ConnMaxLifetime)
	db.SetConnMaxIdleTime(d.opts.ConnMaxIdleTime)
	return db, nil
}

// ping connects once and explains the usual mistakes.
func (d *DB) ping(ctx context.Context, db *sql.DB, cfg *mysql.Config) error {
	ctx, cancel := context.WithTimeout(ctx, d.opts.DialTimeout+5*time.Second)
	defer cancel()
	err := db.PingContext(ctx)
	if err == nil {
		return nil
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1045:
			return fmt.Errorf("mysql %s: access denied for user %q: check the password (the cluster file's password_file, or $ORCHARD_DB_PASSWORD)", cfg.Addr, cfg.User)
		case 1044:
			return fmt.Errorf("mysql %s: user %q may not use database %q: run orchard db init", cfg.Addr, cfg.User, cfg.DBName)
		case 1049:
			return fmt.Errorf("mysql %s: database %q does not exist: run orchard db init", cfg.Addr, cfg.DBName)
		}
	}
	return fmt.Errorf("mysql %s: cannot connect as %q: %w", cfg.Addr, cfg.User, err)
}

// Close stops the health checks and closes every pool. It is idempotent.
func (d *DB) Close() error {
	d.closeOnce.Do(func() {
		if d.cancel != nil {
			d.cancel()
		}
		d.wg.Wait()
		d.closeErr = d.closePools()
	})
	return d.closeErr
}

func (d *DB) closePools() error {
	var first error
	if d.primary != nil {
		first = d.primary.Close()
	}
	for _, r := range d.replicas {
		if err := r.db.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// flavor is the little SQL that differs between MariaDB and MySQL.
type flavor struct{ mariadb bool }

func flavorOf(version string) flavor {
	return flavor{mariadb: strings.Contains(strings.ToLower(version), "mariadb")}
}

func (f flavor) gtidExecuted() string {
	if f.mariadb {
		return "SELECT @@GLOBAL.gtid_binlog_pos"
	}
	return "SELECT @@GLOBAL.gtid_executed"
}

// waitGTID selects 0 once the server has applied the position.
func (f flavor) waitGTID() string {
	if f.mariadb {
		return "SELECT MASTER_GTID_WAIT(?, ?)"
	}
	return "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?)"
}

func (f flavor) replicaStatus() string {
	if f.mariadb {
		return "SHOW SLAVE STATUS"
	}
	return "SHOW REPLICA STATUS"
}

// driverLogger sends the driver's own complaints ("unexpected EOF" on a
// connection it then retries) to slog at debug level.
type driverLogger struct{ l *slog.Logger }

func (l driverLogger) Print(v ...any) { l.l.Debug("mysql driver", "msg", fmt.Sprint(v...)) }
