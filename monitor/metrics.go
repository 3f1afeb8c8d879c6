package monitor

import (
	"log/slog"
	"net/http"
	"regexp"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/orchardhq/orchard"
)

// MetricsPath is where every process serves its metrics, on its control
// listener.
const MetricsPath = "/metrics"

// Metric names every process shares; the dashboard reads these.
const (
	MetricRequests    = "orchard_http_requests_total"           // counter, labels role, class ("2xx".."5xx")
	MetricDuration    = "orchard_http_request_duration_seconds" // histogram, label role
	MetricReleaseInfo = "orchard_release_info"                  // gauge 1, labels site, release
	// With more than MaxReleaseSeries sites, these two instead:
	MetricReleasesActive = "orchard_releases_active" // gauge, sites with an active release
	MetricReleasesDigest = "orchard_releases_digest" // gauge, ReleasesDigest of them
	MetricProcessInfo    = "orchard_process_info"    // gauge 1, labels role, name, version
	MetricBalancerReqs   = "orchard_balancer_requests_total"
	MetricBalancerFail   = "orchard_balancer_failed_total"
	MetricCertExpiry     = "orchard_cert_expiry_seconds" // gauge, label host: the master's certificates (automatic HTTPS)
)

// ProcessInfo names the process in its metrics.
type ProcessInfo struct {
	Role    string // master, node or balancer
	Name    string // node name; "" for master and balancer
	Version string
}

// NewRegistry returns a registry (never the global default) holding the Go
// runtime, process and host collectors, the process's identity, and extra.
// dataDirs are reported as file systems.
func NewRegistry(info ProcessInfo, logger *slog.Logger, dataDirs []string, extra ...prometheus.Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		// Beside the defaults, the heap the last GC found live
		// (go_gc_heap_live_bytes): a process's size without the garbage
		// heap_inuse counts until the next GC.
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$`)})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		NewHostCollector(logger, dataDirs...),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        MetricProcessInfo,
			Help:        "Always 1; the labels name the process.",
			ConstLabels: prometheus.Labels{"role": info.Role, "name": info.Name, "version": info.Version, "goversion": runtime.Version()},
		}, func() float64 { return 1 }),
	)
	for _, c := range extra {
		if c != nil {
			reg.MustRegister(c)
		}
	}
	return reg
}

// Handler serves reg in the Prometheus text format, with a bounded number of
// concurrent scrapes.
func Handler(reg *prometheus.Registry, logger *slog.Logger) http.Handler {
	var el promhttp.Logger
	if logger != nil {
		el = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            el,
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}

// MaxReleaseSeries bounds the orchard_release_info series a process
// reports: with more sites than this it reports orchard_releases_active
// (how many) and orchard_releases_digest (ReleasesDigest) instead, so
// /metrics stays small at thousands of sites (10,000 would be ~650 KB
// per scrape) and two processes can still be seen to hold the same
// releases. The sites' releases themselves are in /_orchard/health.
const MaxReleaseSeries = 100

// releaseCollector reports the active release of every site.
type releaseCollector struct {
	desc, active, digest *prometheus.Desc
	releases             func() map[string]string
	version              func() string                  // nil: the releases are read at every scrape
	summed               func() (count int, sum uint64) // nil: the count and digest are computed from the releases

	// The count and digest of the releases at version seen, past
	// MaxReleaseSeries sites: a scrape while nothing changed reads none
	// (10,000 sites took a node 7 ms and 1 MB of garbage each 5 s).
	mu         sync.Mutex
	seen       string
	seenCount  int
	seenDigest uint64
}

// NewReleaseCollector reports orchard_release_info{site, release} = 1 for
// every site in releases() (site -> active release id), read on each
// scrape, or the count and digest of them past MaxReleaseSeries sites.
func NewReleaseCollector(releases func() map[string]string) prometheus.Collector {
	return &releaseCollector{
		desc:     prometheus.NewDesc(MetricReleaseInfo, "Always 1; the active release of each site.", []string{"site", "release"}, nil),
		active:   prometheus.NewDesc(MetricReleasesActive, "Sites with an active release (reported instead of orchard_release_info past a hundred sites).", nil, nil),
		digest:   prometheus.NewDesc(MetricReleasesDigest, "A 48-bit digest of every site's active release: equal on processes holding the same releases.", nil, nil),
		releases: releases,
	}
}

// NewVersionedReleaseCollector is NewReleaseCollector for a source that
// tells when its releases change: version() returns a new value after
// every change (never "" while it can tell). Past MaxReleaseSeries sites,
// their count and digest are computed again only when it does.
func NewVersionedReleaseCollector(releases func() map[string]string, version func() string) prometheus.Collector {
	c := NewReleaseCollector(releases).(*releaseCollector)
	c.version = version
	return c
}

// NewSummedReleaseCollector is NewReleaseCollector for a source that keeps
// the count of its releases and the sum of their orchard.ReleaseHash as
// they change (summed): past MaxReleaseSeries sites a scrape reads those
// two numbers, never the releases (a node of 10,000 sites listed them all
// after every publish, some 5 ms and 1.6 MB of garbage a scrape).
func NewSummedReleaseCollector(releases func() map[string]string, summed func() (count int, sum uint64)) prometheus.Collector {
	c := NewReleaseCollector(releases).(*releaseCollector)
	c.summed = summed
	return c
}

func (c *releaseCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.desc
	ch <- c.active
	ch <- c.digest
}

func (c *releaseCollector) Collect(ch chan<- prometheus.Metric) {
	if c.summed != nil {
		if count, sum := c.summed(); count > MaxReleaseSeries {
			ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(count))
			ch <- prometheus.MustNewConstMetric(c.digest, prometheus.GaugeValue, float64(releasesSumDigest(sum)))
			return
		}
	}
	// The version is read before the releases: a change between the two
	// makes the next scrape read them again, never keeps a stale digest.
	version := ""
	if c.version != nil {
		version = c.version()
	}
	c.mu.Lock()
	count, digest, cached := c.seenCount, c.seenDigest, version != "" && version == c.seen
	c.mu.Unlock()
	if !cached {
		rels := c.releases()
		if len(rels) <= MaxReleaseSeries {
			c.collectEach(ch, rels)
			return
		}
		count, digest = len(rels), ReleasesDigest(rels)
		c.mu.Lock()
		c.seen, c.seenCount, c.seenDigest = version, count, digest
		c.mu.Unlock()
	}
	ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(count))
	ch <- prometheus.MustNewConstMetric(c.digest, prometheus.GaugeValue, float64(digest))
}

// collectEach reports one orchard_release_info series a site.
func (c *releaseCollector) collectEach(ch chan<- prometheus.Metric, rels map[string]string) {
	sites := make([]string, 0, len(rels))
	for s := range rels {
		sites = append(sites, s)
	}
	sort.Strings(sites)
	for _, s := range sites {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 1, s, rels[s])
	}
}

// ReleasesDigest is a 48-bit digest of a set of active releases (site ->
// id), independent of order: the sum of each pair's orchard.ReleaseHash,
// cut to 48 bits (releasesSumDigest). 48 bits fit a float64 sample exactly.
func ReleasesDigest(rels map[string]string) uint64 {
	var sum uint64
	for site, id := range rels {
		sum += orchard.ReleaseHash(site, id)
	}
	return releasesSumDigest(sum)
}

// releasesSumDigest is the digest of releases whose ReleaseHash shares sum
// to sum.
func releasesSumDigest(sum uint64) uint64 { return sum & (1<<48 - 1) }
