package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/ticker"
)

// replica is one read replica and what the store knows of it.
type replica struct {
	addr      string
	db        *sql.DB
	healthy   atomic.Bool
	lag       atomic.Int64  // seconds behind the primary; -1 unknown
	confirmed atomic.Uint64 // the highest write version known applied here
	reads     atomic.Uint64
	lastErr   atomic.Pointer[string]
	noMonitor atomic.Bool // the account may not read replication status
}

// ReplicaState describes a replica as the store sees it.
type ReplicaState struct {
	Addr    string
	Healthy bool
	Lag     time.Duration // -1 when unknown
	Reads   uint64        // reads it has served
	Err     string        // why it is skipped, if it is
}

// Replicas reports the state of every replica, for status pages and tests.
func (d *DB) Replicas() []ReplicaState {
	out := make([]ReplicaState, len(d.replicas))
	for i, r := range d.replicas {
		lag := time.Duration(r.lag.Load()) * time.Second
		if r.lag.Load() < 0 {
			lag = -1
		}
		st := ReplicaState{Addr: r.addr, Healthy: r.healthy.Load(), Lag: lag, Reads: r.reads.Load()}
		if e := r.lastErr.Load(); e != nil && !st.Healthy {
			st.Err = *e
		}
		out[i] = st
	}
	return out
}

// PrimaryReads returns how many reads the primary has served.
func (d *DB) PrimaryReads() uint64 { return d.reads.Load() }

func (d *DB) healthLoop(ctx context.Context, r *replica) {
	defer d.wg.Done()
	ticker.Run(ctx, d.opts.CheckInterval, func() { d.check(ctx, r) })
}

// check asks a replica whether it replicates and how far behind it is.
func (d *DB) check(ctx context.Context, r *replica) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.DialTimeout+d.opts.CheckInterval)
	defer cancel()
	lag, err := d.replicaLag(ctx, r)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return // closing
		}
		d.markDown(r, err.Error())
		r.lag.Store(-1)
		return
	}
	r.lag.Store(int64(lag / time.Second))
	if lag > d.opts.MaxLag {
		d.markDown(r, fmt.Sprintf("lags %s behind the primary (more than %s)", lag, d.opts.MaxLag))
		return
	}
	if !r.healthy.Swap(true) {
		d.logger.Debug("replica in use", "replica", r.addr, "lag", lag)
	}
}

// replicaLag returns the replica's lag; an error when it does not answer
// or does not replicate.
func (d *DB) replicaLag(ctx context.Context, r *replica) (time.Duration, error) {
	if r.noMonitor.Load() {
		return 0, r.db.PingContext(ctx)
	}
	rows, err := r.db.QueryContext(ctx, d.flavor.replicaStatus())
	if mysqlErrno(err) == 1064 && !d.flavor.mariadb {
		// MySQL before 8.0.22 knows only the old name.
		rows, err = r.db.QueryContext(ctx, "SHOW SLAVE STATUS")
	}
	if err != nil {
		var me *mysql.MySQLError
		if errors.As(err, &me) && (me.Number == 1227 || me.Number == 1142) {
			// Without SLAVE MONITOR / REPLICATION CLIENT the lag cannot be
			// measured; read-your-writes still holds through GTIDs.
			r.noMonitor.Store(true)
			d.logger.Warn("cannot read replication status; lag is not measured (grant SLAVE MONITOR or REPLICATION CLIENT, or run orchard db init)", "replica", r.addr)
			return 0, r.db.PingContext(ctx)
		}
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return 0, err
		}
		return 0, errors.New("not replicating from anyone")
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return 0, err
	}
	var io, sqlThread string
	var lag sql.NullString
	for i, c := range cols {
		switch c {
		case "Slave_IO_Running", "Replica_IO_Running":
			io = vals[i].String
		case "Slave_SQL_Running", "Replica_SQL_Running":
			sqlThread = vals[i].String
		case "Seconds_Behind_Master", "Seconds_Behind_Source":
			lag = vals[i]
		}
	}
	if io != "Yes" || sqlThread != "Yes" {
		return 0, fmt.Errorf("replication threads not running (IO %s, SQL %s)", io, sqlThread)
	}
	n, err := strconv.ParseInt(lag.String, 10, 64)
	if !lag.Valid || err != nil {
		return 0, errors.New("lag unknown")
	}
	return time.Duration(n) * time.Second, nil
}

func (d *DB) markDown(r *replica, why string) {
	r.lastErr.Store(&why)
	if r.healthy.Swap(false) {
		d.logger.Warn("replica skipped", "replica", r.addr, "reason", why)
	}
}

// reader picks where a read goes: a healthy replica that has every
// returned write, else the primary.
func (d *DB) reader(ctx context.Context) (*sql.DB, *replica) {
	n := len(d.replicas)
	if n == 0 {
		return d.primary, nil
	}
	d.mu.Lock()
	ver, pos, force := d.posVer, d.pos, time.Now().Before(d.primaryUntil)
	d.mu.Unlock()
	if force {
		return d.primary, nil
	}
	start := d.rr.Add(1)
	for i := range n {
		r := d.replicas[(start+uint64(i))%uint64(n)]
		if !r.healthy.Load() {
			continue
		}
		if r.confirmed.Load() >= ver {
			return r.db, r
		}
		ok, err := d.reached(ctx, r, pos)
		if err != nil {
			if ctx.Err() == nil {
				d.markDown(r, err.Error())
			}
			continue
		}
		if ok {
			for {
				c := r.confirmed.Load()
				if c >= ver || r.confirmed.CompareAndSwap(c, ver) {
					break
				}
			}
			return r.db, r
		}
	}
	return d.primary, nil
}

// reached asks a replica whether it has applied pos, waiting up to
// ReplicaWait.
func (d *DB) reached(ctx context.Context, r *replica, pos string) (bool, error) {
	if pos == "" {
		return true, nil
	}
	var v sql.NullInt64
	err := r.db.QueryRowContext(ctx, d.flavor.waitGTID(), pos, d.opts.ReplicaWait.Seconds()).Scan(&v)
	if err != nil {
		return false, err
	}
	return v.Valid && v.Int64 == 0, nil
}

// read runs fn on the chosen server. When a replica fails with anything but
// an orchard error, it is taken out and fn runs again on the primary.
func (d *DB) read(ctx context.Context, fn func(*sql.DB) error) error {
	db, r := d.reader(ctx)
	if r == nil {
		d.reads.Add(1)
		return fn(db)
	}
	err := fn(db)
	if err == nil || orchard.ErrorCode(err) != orchard.EINTERNAL || ctx.Err() != nil {
		r.reads.Add(1)
		return err
	}
	d.markDown(r, err.Error())
	d.reads.Add(1)
	return fn(d.primary)
}

// readTx runs fn in a read-only transaction (one consistent snapshot).
func (d *DB) readTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return d.read(ctx, func(db *sql.DB) error {
		return inTx(ctx, db, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}, fn)
	})
}

// maxWriteAttempts bounds the retries of a transaction that deadlocked.
const maxWriteAttempts = 8

// beginner is *sql.DB or *sql.Conn.
type beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// write runs fn in a transaction on the primary, retrying a deadlock, and
// then notes the write for read-your-writes.
func (d *DB) write(ctx context.Context, fn func(*sql.Tx) error) error {
	return d.writeVia(ctx, d.primary, fn)
}

// writeVia is write on a given primary connection (one that holds a site
// lock, so that the lock never waits for a second connection of a full
// pool).
func (d *DB) writeVia(ctx context.Context, b beginner, fn func(*sql.Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = inTx(ctx, b, nil, fn)
		if !isRetryable(err) || attempt == maxWriteAttempts {
			break
		}
		// InnoDB chose this transaction as a deadlock victim: try again
		// after a short random pause, so the winners get through.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(1+rand.IntN(5*attempt)) * time.Millisecond):
		}
	}
	if err != nil {
		return mapWriteError(err)
	}
	d.noteWrite(ctx)
	return nil
}

// inTx runs fn in a transaction begun on b with opts, and commits it when
// fn succeeds (else rolls it back).
func inTx(ctx context.Context, b beginner, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	tx, err := b.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// noteWrite records the primary's GTID position after a write returned.
func (d *DB) noteWrite(ctx context.Context) {
	if len(d.replicas) == 0 {
		return
	}
	ver := d.writeVer.Add(1)
	var pos sql.NullString
	err := d.primary.QueryRowContext(context.WithoutCancel(ctx), d.flavor.gtidExecuted()).Scan(&pos)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		d.primaryUntil = time.Now().Add(d.opts.MaxLag + d.opts.CheckInterval)
		d.logger.Warn("cannot read the primary's GTID position; reads go to the primary for a while", "err", err)
		return
	}
	if ver > d.posVer {
		d.posVer, d.pos = ver, pos.String
	}
}
