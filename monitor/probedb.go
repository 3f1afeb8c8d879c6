package monitor

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ProbeDB is the probe's own SQLite file of results.
type ProbeDB struct {
	db *sql.DB
}

const probeSchema = `
CREATE TABLE IF NOT EXISTS probe_results (
	url        TEXT    NOT NULL,
	at_ms      INTEGER NOT NULL,
	status     INTEGER NOT NULL,
	err        TEXT    NOT NULL,
	dns_us     INTEGER NOT NULL,
	connect_us INTEGER NOT NULL,
	tls_us     INTEGER NOT NULL,
	first_us   INTEGER NOT NULL,
	total_us   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS probe_results_url_at ON probe_results(url, at_ms);
`

// OpenProbeDB opens (creating if needed) the SQLite file at path.
func OpenProbeDB(ctx context.Context, path string) (*ProbeDB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	dsn := path + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("probe db %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, probeSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("probe db %s: %w", path, err)
	}
	return &ProbeDB{db: db}, nil
}

// Close closes the file.
func (p *ProbeDB) Close() error { return p.db.Close() }

// Add records one result.
func (p *ProbeDB) Add(ctx context.Context, r Result) error {
	_, err := p.db.ExecContext(ctx,
		`INSERT INTO probe_results(url, at_ms, status, err, dns_us, connect_us, tls_us, first_us, total_us) VALUES (?,?,?,?,?,?,?,?,?)`,
		r.URL, r.At.UnixMilli(), r.Status, r.Err, r.DNS.Microseconds(), r.Connect.Microseconds(),
		r.TLS.Microseconds(), r.FirstByte.Microseconds(), r.Total.Microseconds())
	if err != nil {
		return fmt.Errorf("record probe of %s: %w", r.URL, err)
	}
	return nil
}

// URLs returns every URL with results, in order.
func (p *ProbeDB) URLs(ctx context.Context) ([]string, error) {
	rows, err := p.db.QueryContext(ctx, `SELECT DISTINCT url FROM probe_results ORDER BY url`)
	if err != nil {
		return nil, fmt.Errorf("probe urls: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Results returns the results for u at or after since, oldest first.
func (p *ProbeDB) Results(ctx context.Context, u string, since time.Time) ([]Result, error) {
	rows, err := p.db.QueryContext(ctx,
		`SELECT at_ms, status, err, dns_us, connect_us, tls_us, first_us, total_us FROM probe_results
		 WHERE url = ? AND at_ms >= ? ORDER BY at_ms`, u, since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("probe results of %s: %w", u, err)
	}
	defer rows.Close()
	var out []Result
	for rows.Next() {
		r := Result{URL: u}
		var at, dns, conn, tl, first, total int64
		if err := rows.Scan(&at, &r.Status, &r.Err, &dns, &conn, &tl, &first, &total); err != nil {
			return nil, err
		}
		r.At = time.UnixMilli(at)
		r.DNS, r.Connect, r.TLS = time.Duration(dns)*time.Microsecond, time.Duration(conn)*time.Microsecond, time.Duration(tl)*time.Microsecond
		r.FirstByte, r.Total = time.Duration(first)*time.Microsecond, time.Duration(total)*time.Microsecond
		out = append(out, r)
	}
	return out, rows.Err()
}
