package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/monitor"
	"github.com/orchardhq/orchard/node"
	"github.com/orchardhq/orchard/publish"
	"github.com/orchardhq/orchard/release"
)

func getMetrics(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s/metrics: %d %s", addr, resp.StatusCode, b)
	}
	return string(b)
}

func wantMetrics(t *testing.T, who, body string, names ...string) {
	t.Helper()
	for _, n := range names {
		if !strings.Contains(body, n) {
			t.Errorf("%s /metrics lacks %q", who, n)
		}
	}
}

// TestControlMetrics starts a node, a balancer in front of it and the
// master's control listener on loopback, and reads /metrics from each.
func TestControlMetrics(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	dir := t.TempDir()
	var nh http.Handler
	nd := node.New(node.Config{Name: "node0", Dir: filepath.Join(dir, "node0"), Control: "127.0.0.1:0", Metrics: lateHandler(&nh), Logger: logger})
	nh = nodeMetrics(nd, publish.NewNode(publish.NodeConfig{Name: "node0", State: nd, Logger: logger}), "node0", dir, logger)
	if err := nd.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer nd.Close()
	host := []string{"orchard_host_cpu_seconds_total", "orchard_host_load1", "orchard_host_memory_available_bytes", "orchard_host_filesystem_free_bytes", "go_goroutines", "process_resident_memory_bytes"}
	wantMetrics(t, "node", getMetrics(t, nd.ControlAddr()), append(host,
		`orchard_process_info{goversion=`, `role="node"`, `orchard_http_requests_total{class="2xx",role="node"}`,
		"orchard_http_request_duration_seconds_bucket", "orchard_node_cache_max_bytes")...)

	var bh http.Handler
	b := balancer.New(balancer.Options{
		Listen: "127.0.0.1:0", Control: "127.0.0.1:0", Metrics: lateHandler(&bh), Logger: logger,
		Pools:  []balancer.Pool{{Name: "web", Members: []orchard.Member{{Name: "node0", Addr: nd.Addr(), HealthAddr: nd.ControlAddr()}}}},
		VHosts: []balancer.VHost{{Hosts: []string{"*"}, Pool: "web"}},
	})
	bh = balancerMetrics(b, dir, logger)
	if err := b.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	resp, err := http.Get("http://" + b.Addr() + "/")
	if err == nil {
		resp.Body.Close()
	}
	wantMetrics(t, "balancer", getMetrics(t, b.ControlAddr()), append(host,
		`role="balancer"`, "orchard_balancer_requests_total 1", `orchard_balancer_member_requests_total{member="node0",pool="web"}`,
		`orchard_balancer_member_state{member="node0",pool="web",state=`, `orchard_http_request_duration_seconds_count{role="balancer"}`)...)

	cfgFile := filepath.Join(dir, "orchard.toml")
	os.WriteFile(cfgFile, []byte("[database]\ndriver = \"sqlite\"\npath = \"db/orchard.db\"\n[master]\ncontrol = \"127.0.0.1:0\"\ndata = \"master\"\n"), 0o600)
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := release.OpenStore(cfg.Master.Data)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := startMasterControl(cfg, rs, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	err = mc.RegisterMetrics(monitor.NewDBCollector(func(context.Context) ([]monitor.DBServer, error) {
		return []monitor.DBServer{{Addr: "10.0.0.2:3306", Role: "replica", Healthy: true, LagSeconds: 2}}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	wantMetrics(t, "master", getMetrics(t, mc.Addr()), append(host, `role="master"`, `orchard_db_replica_lag_seconds{addr="10.0.0.2:3306"} 2`)...)

	ts := dashboardTargets(cfg)
	if len(ts) != 1 || ts[0].Name != "master" || !strings.HasSuffix(ts[0].URL, "/metrics") {
		t.Errorf("dashboard targets %+v", ts)
	}
}
