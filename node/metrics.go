package node

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// durationBounds are the upper bounds of the request duration histogram.
var durationBounds = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// metricShards is how many copies of the request counters the node keeps
// (a power of two): a request adds to the shard of its connection, so the
// cores serving different connections do not contend for one cache line. A
// scrape sums the shards.
const metricShards = 16

// requestShard is one shard of the node's request counters, padded to a
// whole number of cache lines.
type requestShard struct {
	class   [6]atomic.Uint64 // index status/100: 1xx..5xx; 0 = other
	bytes   atomic.Uint64    // response body bytes (Content-Length)
	buckets [len(durationBounds) + 1]atomic.Uint64
	sumUS   atomic.Uint64 // total duration, microseconds
	_       [256 - (6+1+len(durationBounds)+1+1)*8]byte
}

// requestMetrics counts the requests the node answered: lock-free, no
// allocation, a few uncontended atomic adds per request.
type requestMetrics struct {
	shards [metricShards]requestShard
}

// shardOf picks the shard of ctx's connection.
func shardOf(ctx *fasthttp.RequestCtx) uint64 { return ctx.ConnID() & (metricShards - 1) }

// observe records the response in ctx, for the node and for site (nil: a
// host the node does not hold); the traffic handler defers it once per
// request. One clock read: the request's start is ctx.Time().
func (m *requestMetrics) observe(ctx *fasthttp.RequestCtx, site *site) {
	i := shardOf(ctx)
	c := statusClass(ctx.Response.StatusCode())
	n := bodyBytes(ctx)
	sh := &m.shards[i]
	sh.class[c].Add(1)
	if n > 0 {
		sh.bytes.Add(uint64(n))
	}
	d := time.Since(ctx.Time())
	b := 0
	for b < len(durationBounds) && d > durationBounds[b] {
		b++
	}
	sh.buckets[b].Add(1)
	if d > 0 {
		sh.sumUS.Add(uint64(d / time.Microsecond))
	}
	if site != nil && site.slot != nil {
		site.slot.counters().add(i, c, n)
	}
}

// totals sums the shards: requests by class, body bytes, the duration
// histogram's buckets (not cumulative) and its sum in microseconds.
func (m *requestMetrics) totals() (class [6]uint64, bytes uint64, buckets [len(durationBounds) + 1]uint64, sumUS uint64) {
	for i := range m.shards {
		sh := &m.shards[i]
		for c := range class {
			class[c] += sh.class[c].Load()
		}
		bytes += sh.bytes.Load()
		for b := range buckets {
			buckets[b] += sh.buckets[b].Load()
		}
		sumUS += sh.sumUS.Load()
	}
	return class, bytes, buckets, sumUS
}

// Collector returns a Prometheus collector of the node's request counters,
// connections, hot-blob cache and releases, read on each scrape.
func (n *Node) Collector() prometheus.Collector { return nodeCollector{n} }

type nodeCollector struct{ n *Node }

var (
	descRequests = prometheus.NewDesc("orchard_http_requests_total", "Requests answered, by status class.",
		[]string{"role", "class"}, nil)
	descDuration = prometheus.NewDesc("orchard_http_request_duration_seconds", "Time to answer a request.",
		[]string{"role"}, nil)
	descBytes = prometheus.NewDesc("orchard_http_response_bytes_total", "Response body bytes sent.",
		[]string{"role"}, nil)
	descConns      = prometheus.NewDesc("orchard_node_open_connections", "Open client connections.", nil, nil)
	descCacheBytes = prometheus.NewDesc("orchard_node_cache_bytes", "Bytes of blobs held in memory.", nil, nil)
	descCacheBlobs = prometheus.NewDesc("orchard_node_cache_blobs", "Blobs held in memory.", nil, nil)
	descCacheMax   = prometheus.NewDesc("orchard_node_cache_max_bytes", "Bound of the hot-blob cache.", nil, nil)
	descSites      = prometheus.NewDesc("orchard_node_sites", "Sites known, with or without an active release.", nil, nil)
	descUptime     = prometheus.NewDesc("orchard_node_uptime_seconds", "Seconds since the node opened.", nil, nil)
)

var classNames = [6]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

func (c nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRequests, descDuration, descBytes, descConns, descCacheBytes,
		descCacheBlobs, descCacheMax, descSites, descUptime, descSiteRequests, descSiteBytes, descSitesOmitted} {
		ch <- d
	}
}

func (c nodeCollector) Collect(ch chan<- prometheus.Metric) {
	n, m := c.n, &c.n.metrics
	class, bytes, counts, sumUS := m.totals()
	for i, name := range classNames {
		ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(class[i]), "node", name)
	}
	buckets := make(map[float64]uint64, len(durationBounds))
	var cum uint64
	for i, b := range durationBounds {
		cum += counts[i]
		buckets[b.Seconds()] = cum
	}
	cum += counts[len(durationBounds)]
	ch <- prometheus.MustNewConstHistogram(descDuration, cum, float64(sumUS)/1e6, buckets, "node")
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(bytes), "node")
	n.collectSites(ch, n.cfg.SiteMetrics)
	if n.srv != nil {
		ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(n.srv.GetOpenConnectionsCount()))
	}
	cacheBytes, cacheBlobs := n.cache.stats()
	ch <- prometheus.MustNewConstMetric(descCacheBytes, prometheus.GaugeValue, float64(cacheBytes))
	ch <- prometheus.MustNewConstMetric(descCacheBlobs, prometheus.GaugeValue, float64(cacheBlobs))
	ch <- prometheus.MustNewConstMetric(descCacheMax, prometheus.GaugeValue, float64(n.cfg.CacheBytes))
	n.mu.Lock()
	sites := len(n.sites)
	n.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(descSites, prometheus.GaugeValue, float64(sites))
	if !n.started.IsZero() {
		ch <- prometheus.MustNewConstMetric(descUptime, prometheus.GaugeValue, time.Since(n.started).Seconds())
	}
}
