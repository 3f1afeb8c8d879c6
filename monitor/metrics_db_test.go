package monitor_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/orchardhq/orchard/monitor"
)

func TestDBCollector(t *testing.T) {
	c := monitor.NewDBCollector(func(context.Context) ([]monitor.DBServer, error) {
		return []monitor.DBServer{
			{Addr: "10.0.0.1:3306", Role: "primary", Healthy: true},
			{Addr: "10.0.0.2:3306", Role: "replica", Healthy: true, LagSeconds: 3},
			{Addr: "10.0.0.3:3306", Role: "unreachable", LagSeconds: -1},
		}, nil
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	want := `
# HELP orchard_db_replica_lag_seconds Replication lag of a replica (Seconds_Behind_Master; -1 unknown).
# TYPE orchard_db_replica_lag_seconds gauge
orchard_db_replica_lag_seconds{addr="10.0.0.2:3306"} 3
# HELP orchard_db_server_up 1 if the database server answered.
# TYPE orchard_db_server_up gauge
orchard_db_server_up{addr="10.0.0.1:3306",role="primary"} 1
orchard_db_server_up{addr="10.0.0.2:3306",role="replica"} 1
orchard_db_server_up{addr="10.0.0.3:3306",role="unreachable"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "orchard_db_replica_lag_seconds", "orchard_db_server_up"); err != nil {
		t.Error(err)
	}
}
