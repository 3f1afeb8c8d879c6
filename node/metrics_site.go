package node

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// siteStats counts the requests answered for one site (its host and its
// aliases): lock-free and allocation-free, one or two atomic adds per
// request on the shard of the request's connection (see metricShards). It
// outlives the site's releases: every serving state of a host shares one.
type siteStats struct {
	shards [metricShards]siteShard
}

// siteShard is one shard of a site's counters, one cache line.
type siteShard struct {
	class [6]atomic.Uint64 // index status/100: 1xx..5xx; 0 = other
	bytes atomic.Uint64    // response body bytes
	_     [64 - 7*8]byte
}

// add counts a response of class c (see statusClass) with n body bytes on
// shard i. It does nothing on nil (a site never published).
func (s *siteStats) add(i uint64, c, n int) {
	if s == nil {
		return
	}
	sh := &s.shards[i&(metricShards-1)]
	sh.class[c].Add(1)
	if n > 0 {
		sh.bytes.Add(uint64(n))
	}
}

// totals sums the shards: requests by class and body bytes.
func (s *siteStats) totals() (class [6]uint64, bytes uint64) {
	for i := range s.shards {
		sh := &s.shards[i]
		for c := range class {
			class[c] += sh.class[c].Load()
		}
		bytes += sh.bytes.Load()
	}
	return class, bytes
}

// statusClass maps a status to its index in classNames.
func statusClass(st int) int {
	c := st / 100
	if c < 1 || c > 5 {
		return 0
	}
	return c
}

// bodyBytes is the length of the response body (0 for HEAD), without
// copying it.
func bodyBytes(ctx *fasthttp.RequestCtx) int {
	if ctx.IsHead() {
		return 0
	}
	if ctx.Response.IsBodyStream() {
		return ctx.Response.Header.ContentLength() // set by SetBodyStream
	}
	return len(ctx.Response.Body())
}

var (
	descSiteRequests = prometheus.NewDesc("orchard_site_requests_total", "Requests answered per site, by status class.",
		[]string{"role", "site", "class"}, nil)
	descSiteBytes = prometheus.NewDesc("orchard_site_response_bytes_total", "Response body bytes sent per site.",
		[]string{"role", "site"}, nil)
)

// collectSites sends the per-site counters: six classes and the bytes of
// every site the node holds.
func (n *Node) collectSites(ch chan<- prometheus.Metric) {
	n.mu.Lock()
	stats := make(map[string]*siteStats, len(n.sites))
	for host, sl := range n.sites {
		stats[host] = sl.stats
	}
	n.mu.Unlock()
	for host, s := range stats {
		class, bytes := s.totals()
		for i, name := range classNames {
			ch <- prometheus.MustNewConstMetric(descSiteRequests, prometheus.CounterValue, float64(class[i]), "node", host, name)
		}
		ch <- prometheus.MustNewConstMetric(descSiteBytes, prometheus.CounterValue, float64(bytes), "node", host)
	}
}
