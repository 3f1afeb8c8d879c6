package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/master"
	"github.com/orchardhq/orchard/monitor"
	"github.com/orchardhq/orchard/node"
	"github.com/orchardhq/orchard/publish"
)

// lateHandler serves through *h, which is set after the server that holds
// it is built (the metrics need the object the server belongs to).
func lateHandler(h *http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if *h == nil {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		(*h).ServeHTTP(w, r)
	})
}

// nodeMetrics is the /metrics handler of a web node: host, Go runtime,
// process, requests, cache, active releases (nd) and staged ones (recv).
func nodeMetrics(nd *node.Node, recv *publish.Node, name, dataDir string, logger *slog.Logger) http.Handler {
	reg := monitor.NewRegistry(monitor.ProcessInfo{Role: "node", Name: name, Version: versionString()}, logger,
		[]string{dataDir}, nd.Collector(), recv.Collector(), monitor.NewSummedReleaseCollector(nd.Releases, nd.ReleasesSum))
	return monitor.Handler(reg, logger)
}

// balancerMetrics is the /metrics handler of the balancer.
func balancerMetrics(b *balancer.Balancer, dataDir string, logger *slog.Logger) http.Handler {
	var dirs []string
	if dataDir != "" {
		dirs = append(dirs, dataDir)
	}
	reg := monitor.NewRegistry(monitor.ProcessInfo{Role: "balancer", Version: versionString()}, logger,
		dirs, b.Collector(), monitor.NewVersionedReleaseCollector(b.Sites, b.SitesVersion))
	return monitor.Handler(reg, logger)
}

// masterRegistry holds the master control listener's metrics: host, Go
// runtime, process and the active releases.
func masterRegistry(dataDir string, cat master.Catalog, logger *slog.Logger) *prometheus.Registry {
	// Versioned: an idle master of 10,000 sites listed (and every minute
	// stat'ed, see release.Store.ActiveAll) every site's pointer for each
	// scrape of its own metrics: 0.6 % of a core, 0.3 % since.
	releases := func() map[string]string { a, _ := cat.Active(); return a }
	return monitor.NewRegistry(monitor.ProcessInfo{Role: "master", Version: versionString()}, logger,
		[]string{dataDir}, monitor.NewVersionedReleaseCollector(releases, cat.ActiveVersion))
}

// RegisterMetrics adds collectors to the master's /metrics, e.g.
// collectors.NewDBStatsCollector(db, "orchard") for the connection pool or
// monitor.NewDBCollector for replication lag. It fails without a control
// listener or on a duplicate metric.
func (mc *masterControl) RegisterMetrics(cs ...prometheus.Collector) error {
	if mc.reg == nil {
		return errors.New("master: no control listener for metrics")
	}
	for _, c := range cs {
		if err := mc.reg.Register(c); err != nil {
			return fmt.Errorf("master metrics: %w", err)
		}
	}
	return nil
}

// dashboardTargets lists what the master's dashboard scrapes: the master
// itself, every node and the balancer, each at its control address (those
// without one are left out).
func dashboardTargets(cfg *config.Config) []monitor.Target {
	url := func(addr string) string { return "http://" + addr + monitor.MetricsPath }
	var ts []monitor.Target
	controls := cfg.BalancerControls()
	for _, name := range slices.Sorted(maps.Keys(controls)) {
		ts = append(ts, monitor.Target{Name: name, Group: "balancer", URL: url(controls[name])})
	}
	for _, n := range cfg.Nodes {
		if n.Control != "" {
			ts = append(ts, monitor.Target{Name: n.Name, Group: "web nodes", URL: url(n.Control)})
		}
	}
	if cfg.Master.Control != "" {
		group := "master + database"
		if cfg.Database.Driver == "mysql" {
			group = "master"
		}
		ts = append(ts, monitor.Target{Name: "master", Group: group, URL: url(cfg.Master.Control)})
	}
	return ts
}

// openDashboard starts scraping the cluster every 5 seconds, with a week of
// per-minute history in <master.data>/monitor (monitor.HistoryBytesPerTarget
// per target), and returns the dashboard to mount behind the admin login.
// Close the scraper on the way out.
func openDashboard(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*monitor.Scraper, *monitor.Dashboard, error) {
	sc := monitor.NewScraper(monitor.ScraperOptions{
		Targets: dashboardTargets(cfg),
		Dir:     filepath.Join(cfg.Master.Data, "monitor"),
		Every:   5 * time.Second,
		Logger:  logger,
	})
	if err := sc.Open(ctx); err != nil {
		sc.Close()
		return nil, nil, err
	}
	return sc, monitor.NewDashboard(sc), nil
}
