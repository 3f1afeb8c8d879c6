package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"sort"
	"sync/atomic"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/dbcluster"
	"github.com/orchardhq/orchard/master"
	"github.com/orchardhq/orchard/monitor"
)

// initMetrics adds the master's own collectors to its control listener's
// /metrics: publish results (master.NewStatsCollector), the dynamic site
// handler's requests, the database connection pools and, on MySQL, each
// server's role and replication lag. Nothing without a control listener.
func (m *masterServer) initMetrics(context.Context) error {
	if m.control == nil {
		return nil
	}
	logger := m.logger.With("listener", "control")
	cs := []prometheus.Collector{master.NewStatsCollector(m.cfg.Master.Data, logger)}
	if m.siteMetrics != nil {
		cs = append(cs, m.siteMetrics)
	}
	cs = append(cs, dbPoolCollectors(m.cfg.Database.Driver, m.store)...)
	if m.certs != nil {
		cs = append(cs, newCertsCollector(m.certs))
	}
	if m.cfg.Database.Driver == "mysql" {
		c, err := dbStatusCluster(m.cfg)
		if err != nil {
			return err
		}
		cs = append(cs, monitor.NewDBCollector(dbStatusFunc(c)))
	}
	return m.control.RegisterMetrics(cs...)
}

// dbPoolCollectors returns a collectors.NewDBStatsCollector per connection
// pool of store (sqlite: write and read; mysql: primary and each replica),
// labelled db_name="DRIVER-POOL". None for a store without pools.
func dbPoolCollectors(driver string, store any) []prometheus.Collector {
	p, ok := store.(interface{ SQLDBs() map[string]*sql.DB })
	if !ok {
		return nil
	}
	if driver == "" {
		driver = "sqlite"
	}
	pools := p.SQLDBs()
	names := make([]string, 0, len(pools))
	for name := range pools {
		names = append(names, name)
	}
	sort.Strings(names)
	var cs []prometheus.Collector
	for _, name := range names {
		cs = append(cs, collectors.NewDBStatsCollector(pools[name], driver+"-"+name))
	}
	return cs
}

// dbStatusCluster describes the [database] servers for dbcluster.Status,
// reached with the application account (orchard db init grants it the
// privilege to read replication status), never an administrative one.
func dbStatusCluster(cfg *config.Config) (*dbcluster.Cluster, error) {
	d := cfg.Database
	pw := ""
	parse := func(key, dsn string) (*gomysql.Config, error) {
		c, err := gomysql.ParseDSN(dsn)
		if err != nil {
			return nil, usagef("%s: %s is not a valid DSN (user@tcp(host:port)/database)", cfg.Path, key)
		}
		if c.Passwd == "" {
			if pw == "" {
				if pw, err = dbPassword(d); err != nil {
					return nil, err
				}
			}
			c.Passwd = pw
		}
		c.Timeout = 5 * time.Second
		return c, nil
	}
	primary, err := parse("database.primary", d.Primary)
	if err != nil {
		return nil, err
	}
	c := &dbcluster.Cluster{
		Database: primary.DBName,
		Primary:  dbcluster.Server{Addr: primary.Addr, DSN: primary.FormatDSN()},
	}
	for i, r := range d.Replicas {
		rc, err := parse(fmt.Sprintf("database.replicas[%d]", i), r)
		if err != nil {
			return nil, err
		}
		c.Replicas = append(c.Replicas, dbcluster.Server{Addr: rc.Addr, DSN: rc.FormatDSN()})
	}
	return c, nil
}

// dbStatusFunc feeds monitor.NewDBCollector from c.Status.
func dbStatusFunc(c *dbcluster.Cluster) func(context.Context) ([]monitor.DBServer, error) {
	return func(ctx context.Context) ([]monitor.DBServer, error) {
		st, err := c.Status(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]monitor.DBServer, len(st))
		for i, s := range st {
			lag := s.LagSeconds
			if s.Role == dbcluster.RolePrimary {
				lag = 0
			}
			out[i] = monitor.DBServer{Addr: s.Addr, Role: s.Role, Healthy: s.Healthy(), LagSeconds: lag}
		}
		return out, nil
	}
}

// countSiteRequests wraps the master's dynamic site handler so its
// requests are counted (m.siteMetrics, registered by initMetrics).
func (m *masterServer) countSiteRequests(h http.Handler) http.Handler {
	m.siteMetrics = newHTTPMetrics("master")
	return m.siteMetrics.wrap(h)
}

// httpMetrics counts the requests of an http.Handler by status class, with
// their body bytes and durations, as orchard_http_requests_total,
// orchard_http_response_bytes_total and
// orchard_http_request_duration_seconds with label role (what the
// dashboard graphs).
type httpMetrics struct {
	role     string
	class    [6]atomic.Uint64 // index status/100: 1xx..5xx; 0 = other
	bytes    atomic.Uint64
	duration prometheus.Histogram
	requests *prometheus.Desc
	bytesD   *prometheus.Desc
}

// httpClassNames names the classes of httpMetrics.class.
var httpClassNames = [6]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

func newHTTPMetrics(role string) *httpMetrics {
	return &httpMetrics{
		role: role,
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:        monitor.MetricDuration,
			Help:        "Time to answer a request.",
			ConstLabels: prometheus.Labels{"role": role},
			Buckets:     []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}),
		requests: prometheus.NewDesc(monitor.MetricRequests, "Requests answered, by status class.", []string{"role", "class"}, nil),
		bytesD:   prometheus.NewDesc("orchard_http_response_bytes_total", "Response body bytes sent.", []string{"role"}, nil),
	}
}

func (hm *httpMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- hm.requests
	ch <- hm.bytesD
	hm.duration.Describe(ch)
}

func (hm *httpMetrics) Collect(ch chan<- prometheus.Metric) {
	for i, name := range httpClassNames {
		ch <- prometheus.MustNewConstMetric(hm.requests, prometheus.CounterValue, float64(hm.class[i].Load()), hm.role, name)
	}
	ch <- prometheus.MustNewConstMetric(hm.bytesD, prometheus.CounterValue, float64(hm.bytes.Load()), hm.role)
	hm.duration.Collect(ch)
}

// wrap returns h counted.
func (hm *httpMetrics) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		cw := &countingWriter{ResponseWriter: w}
		defer func() {
			status := cw.status
			if status == 0 {
				status = http.StatusOK
			}
			// A panic (net/http recovers and logs it) broke the response:
			// counted as a 5xx unless a status was already sent.
			if p := recover(); p != nil {
				if cw.status == 0 {
					status = http.StatusInternalServerError
				}
				hm.count(status, cw.n, start)
				panic(p)
			}
			hm.count(status, cw.n, start)
		}()
		h.ServeHTTP(cw, r)
	})
}

func (hm *httpMetrics) count(status int, n int64, start time.Time) {
	c := status / 100
	if c < 1 || c > 5 {
		c = 0
	}
	hm.class[c].Add(1)
	if n > 0 {
		hm.bytes.Add(uint64(n))
	}
	hm.duration.Observe(time.Since(start).Seconds())
}

// countingWriter remembers the status and counts the body bytes written.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *countingWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flush,
// deadlines).
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
