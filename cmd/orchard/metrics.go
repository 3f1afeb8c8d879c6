package main

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/monitor"
	"github.com/orchardhq/orchard/node"
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
// process, requests, cache and active releases.
func nodeMetrics(nd *node.Node, name, dataDir string, logger *slog.Logger) http.Handler {
	reg := monitor.NewRegistry(monitor.ProcessInfo{Role: "node", Name: name, Version: versionString()}, logger,
		[]string{dataDir}, nd.Collector(), monitor.NewReleaseCollector(nd.Releases))
	return monitor.Handler(reg, logger)
}

// balancerMetrics is the /metrics handler of the balancer.
func balancerMetrics(b *balancer.Balancer, dataDir string, logger *slog.Logger) http.Handler {
	var dirs []string
	if dataDir != "" {
		dirs = append(dirs, dataDir)
	}
	reg := monitor.NewRegistry(monitor.ProcessInfo{Role: "balancer", Version: versionString()}, logger,
		dirs, b.Collector(), monitor.NewReleaseCollector(func() map[string]string { return b.Status().Sites }))
	return monitor.Handler(reg, logger)
}

// masterMetrics is the /metrics handler of the master's control listener.
func masterMetrics(dataDir string, releases func() map[string]string, logger *slog.Logger, extra ...prometheus.Collector) http.Handler {
	reg := monitor.NewRegistry(monitor.ProcessInfo{Role: "master", Version: versionString()}, logger,
		[]string{dataDir}, append(extra, monitor.NewReleaseCollector(releases))...)
	return monitor.Handler(reg, logger)
}
