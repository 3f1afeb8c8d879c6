package monitor

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DBServer is one database server as a replication status check sees it.
type DBServer struct {
	Addr       string // host:port
	Role       string // primary, replica, unreachable, ...
	Healthy    bool   // plays the role the cluster file gives it
	LagSeconds int    // replication lag; -1 when unknown; 0 on a primary
}

// NewDBCollector reports the database servers' state on each scrape:
// orchard_db_server_up{addr,role}, orchard_db_server_healthy{addr} and, for
// replicas, orchard_db_replica_lag_seconds{addr} (-1 when the threads are
// stopped). status gets a context bounded to 5 seconds.
func NewDBCollector(status func(ctx context.Context) ([]DBServer, error)) prometheus.Collector {
	return &dbCollector{
		status:  status,
		up:      prometheus.NewDesc("orchard_db_server_up", "1 if the database server answered.", []string{"addr", "role"}, nil),
		healthy: prometheus.NewDesc("orchard_db_server_healthy", "1 if the server plays the role the cluster file gives it.", []string{"addr"}, nil),
		lag:     prometheus.NewDesc("orchard_db_replica_lag_seconds", "Replication lag of a replica (Seconds_Behind_Master; -1 unknown).", []string{"addr"}, nil),
	}
}

type dbCollector struct {
	status           func(ctx context.Context) ([]DBServer, error)
	up, healthy, lag *prometheus.Desc
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.up; ch <- c.healthy; ch <- c.lag }

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	servers, err := c.status(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.up, err)
		return
	}
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	for _, s := range servers {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, b(s.Role != "unreachable"), s.Addr, s.Role)
		ch <- prometheus.MustNewConstMetric(c.healthy, prometheus.GaugeValue, b(s.Healthy), s.Addr)
		if s.Role == "replica" {
			ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(s.LagSeconds), s.Addr)
		}
	}
}
