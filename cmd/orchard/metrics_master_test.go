package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/dbcluster"
	"github.com/orchardhq/orchard/internal/mariadbtest"
	"github.com/orchardhq/orchard/internal/promtest"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/monitor"
	"github.com/orchardhq/orchard/mysql"
)

// TestMasterMetrics starts a master (site, control and admin listeners)
// with one node, sends requests to its dynamic site listener and publishes
// with the CLI, then reads the control listener's /metrics: site requests
// by class, publish counts and node results, the SQLite pools.
func TestMasterMetrics(t *testing.T) {
	ac := startAdminCluster(t)
	m := ac.m
	for _, path := range []string{"/news/", "/news/", "/no-such-page"} {
		fetch(t, "http://"+m.SiteAddr()+path, sample.AlphaHost)
	}
	mustCLI(t, m.cfg.Path, "", "publish", "-s", sample.AlphaHost, "--build", "-q")
	body := getMetrics(t, m.control.Addr())
	wantMetrics(t, "master", body,
		`orchard_http_requests_total{class="2xx",role="master"} 2`,
		`orchard_http_requests_total{class="4xx",role="master"} 1`,
		`orchard_http_request_duration_seconds_count{role="master"} 3`,
		`orchard_publish_total{result="ok",site="alpha.localhost"} 1`,
		`orchard_publish_total{result="failed",site="alpha.localhost"} 0`,
		`orchard_publish_node_results_total{node="node0",state="activated"} 1`,
		`orchard_publish_last_success{site="alpha.localhost"} 1`,
		`orchard_publish_last_node_state{node="node0",site="alpha.localhost",state="activated"} 1`,
		`orchard_publish_duration_seconds_count 1`,
		`go_sql_max_open_connections{db_name="sqlite-write"} 1`,
		`go_sql_open_connections{db_name="sqlite-read"}`,
	)
	if !strings.Contains(body, `orchard_http_response_bytes_total{role="master"}`) || strings.Contains(body, `orchard_http_response_bytes_total{role="master"} 0`) {
		t.Errorf("master response bytes missing or zero:\n%s", promtest.GrepLines(body, "response_bytes"))
	}

	// A second publish with the node gone: a failure, counted on top.
	ac.node.Close()
	r := runCLI(t, m.cfg.Path, "", "publish", "-s", sample.AlphaHost, "-q")
	t.Logf("publish with node0 down: exit %d %s", r.code, r.err)
	last := map[bool]string{true: "1", false: "0"}[r.code == 0]
	wantMetrics(t, "master", getMetrics(t, m.control.Addr()),
		`orchard_publish_duration_seconds_count 2`,
		`orchard_publish_node_results_total{node="node0",state="activated"} 1`,
		`orchard_publish_node_results_total{node="node0",state="down"} 1`,
		`orchard_publish_last_node_state{node="node0",site="alpha.localhost",state="down"} 1`,
		`orchard_publish_last_success{site="alpha.localhost"} `+last,
	)
}

// TestHTTPMetrics counts statuses of a handler, including a panic and an
// informational header before the final status.
func TestHTTPMetrics(t *testing.T) {
	hm := newHTTPMetrics("master")
	h := hm.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			fmt.Fprint(w, "hello")
		case "/hint":
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusNoContent)
		case "/gone":
			http.Error(w, "gone", http.StatusGone)
		case "/panic":
			panic("boom")
		}
	}))
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the panic's stack
	srv.Start()
	defer srv.Close()
	for _, p := range []string{"/ok", "/ok", "/hint", "/gone", "/panic", "/empty"} {
		resp, err := http.Get(srv.URL + p)
		if err == nil {
			resp.Body.Close()
		}
	}
	body := promtest.Scrape(t, hm)
	for _, w := range []string{
		`orchard_http_requests_total{class="2xx",role="master"} 4`, // ok, ok, hint (204), empty (200)
		`orchard_http_requests_total{class="4xx",role="master"} 1`,
		`orchard_http_requests_total{class="5xx",role="master"} 1`,
		`orchard_http_requests_total{class="1xx",role="master"} 0`,
		`orchard_http_request_duration_seconds_count{role="master"} 6`,
		`orchard_http_response_bytes_total{role="master"} 15`, // "hello" x2 + "gone\n"
	} {
		if !strings.Contains(body, w) {
			t.Errorf("metrics lack %q:\n%s", w, body)
		}
	}
}

// TestMySQLMetrics: with driver = "mysql", the pools of the primary and
// each replica, and every server's role and replica lag from
// dbcluster.Status, reached with the application account of the DSNs.
func TestMySQLMetrics(t *testing.T) {
	c := mariadbtest.Start(t, 2)
	name := c.NewDatabase(t)
	c.WaitReplicas(t)
	cfg := &config.Config{Path: "orchard.toml"}
	cfg.Database.Driver = "mysql"
	cfg.Database.Primary = c.Primary().DSN("root", "", name)
	for _, r := range c.Replicas() {
		cfg.Database.Replicas = append(cfg.Database.Replicas, r.DSN("root", "", name))
	}
	db, err := mysql.Open(t.Context(), cfg.Database.Primary, cfg.Database.Replicas, mysql.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c.WaitReplicas(t) // Open migrated the primary; let the replicas apply it
	cl, err := dbStatusCluster(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cs := append(dbPoolCollectors("mysql", db), monitor.NewDBCollector(dbStatusFunc(cl)))
	body := promtest.Scrape(t, cs...)
	replica := c.Replicas()[0].Addr()
	for _, w := range []string{
		`go_sql_max_open_connections{db_name="mysql-primary"}`,
		`go_sql_open_connections{db_name="mysql-` + replica + `"}`,
		`orchard_db_server_up{addr="` + c.Primary().Addr() + `",role="primary"} 1`,
		`orchard_db_server_healthy{addr="` + replica + `"} 1`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("metrics lack %q:\n%s", w, promtest.GrepLines(body, "orchard_db_"))
		}
	}
	// The lag is known (not -1) and small; Seconds_Behind_Master may read 1
	// for a moment after the replica applied the migrations.
	lagRe := regexp.MustCompile(`(?m)^orchard_db_replica_lag_seconds\{addr="` + regexp.QuoteMeta(replica) + `"\} ([0-9.]+)$`)
	if m := lagRe.FindStringSubmatch(body); m == nil {
		t.Errorf("metrics lack a known replica lag for %s:\n%s", replica, promtest.GrepLines(body, "orchard_db_"))
	} else if lag, _ := strconv.ParseFloat(m[1], 64); lag > 5 {
		t.Errorf("replica lag %v s on an idle cluster", lag)
	}

	// A replica that cannot be reached is reported, not an error.
	cl.Replicas = append(cl.Replicas, dbStatusServer(t, "127.0.0.1:1"))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st, err := dbStatusFunc(cl)(ctx)
	if err != nil || len(st) != 3 || st[2].Healthy {
		t.Errorf("unreachable replica: %+v, %v", st, err)
	}
}

func dbStatusServer(t *testing.T, addr string) dbcluster.Server {
	t.Helper()
	return dbcluster.Server{Addr: addr, DSN: "root@tcp(" + addr + ")/x?timeout=2s"}
}
