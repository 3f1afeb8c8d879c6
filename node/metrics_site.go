package node

import (
	"sort"
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
	descSiteRequests = prometheus.NewDesc("orchard_site_requests_total", "Requests answered per site, by status class (the busiest sites; see Config.SiteMetrics).",
		[]string{"role", "site", "class"}, nil)
	descSiteBytes = prometheus.NewDesc("orchard_site_response_bytes_total", "Response body bytes sent per site (the busiest sites; see Config.SiteMetrics).",
		[]string{"role", "site"}, nil)
	descSitesOmitted = prometheus.NewDesc("orchard_node_site_metrics_omitted", "Sites with requests whose per-site series are left out (Config.SiteMetrics).", nil, nil)
)

// siteTotal is one site's counters, summed over the shards, at a scrape.
type siteTotal struct {
	host  string
	class [6]uint64
	bytes uint64
	reqs  uint64
}

// collectSites sends the per-site counters of the limit busiest sites
// (most requests since the node started; limit < 0: none): a class with
// no request is left out, as is a site without requests. Which sites are
// in changes as traffic does, so a series may pause; the node's totals
// (orchard_http_*) always count every request. At 10,000 sites every
// site's series would be ~80,000 lines and half a megabyte per scrape.
func (n *Node) collectSites(ch chan<- prometheus.Metric, limit int) {
	n.mu.Lock()
	stats := make([]*siteStats, 0, len(n.sites))
	hosts := make([]string, 0, len(n.sites))
	for host, sl := range n.sites {
		if s := sl.stats.Load(); s != nil { // else no request yet
			stats = append(stats, s)
			hosts = append(hosts, host)
		}
	}
	n.mu.Unlock()
	top, busy := busiest(hosts, stats, max(limit, 0))
	for _, t := range top {
		for i, name := range classNames {
			if t.class[i] > 0 {
				ch <- prometheus.MustNewConstMetric(descSiteRequests, prometheus.CounterValue, float64(t.class[i]), "node", t.host, name)
			}
		}
		ch <- prometheus.MustNewConstMetric(descSiteBytes, prometheus.CounterValue, float64(t.bytes), "node", t.host)
	}
	ch <- prometheus.MustNewConstMetric(descSitesOmitted, prometheus.GaugeValue, float64(busy-len(top)))
}

// busiest returns the totals of the (at most) k sites with the most
// requests, busiest first (ties by host), and how many sites had any. It
// keeps k totals at a time, whatever the number of sites.
func busiest(hosts []string, stats []*siteStats, k int) (top []siteTotal, busy int) {
	less := func(a, b *siteTotal) bool { // a is less busy than b
		if a.reqs != b.reqs {
			return a.reqs < b.reqs
		}
		return a.host > b.host
	}
	top = make([]siteTotal, 0, min(k, len(stats)))
	for i, s := range stats {
		t := siteTotal{host: hosts[i]}
		t.class, t.bytes = s.totals()
		for _, c := range t.class {
			t.reqs += c
		}
		if t.reqs == 0 {
			continue
		}
		busy++
		if k == 0 {
			continue
		}
		if len(top) < k {
			top = append(top, t)
			continue
		}
		// top is full: replace its least busy when t beats it (k is
		// small, a scan is as good as a heap).
		low := 0
		for j := range top {
			if less(&top[j], &top[low]) {
				low = j
			}
		}
		if less(&top[low], &t) {
			top[low] = t
		}
	}
	sort.Slice(top, func(i, j int) bool { return less(&top[j], &top[i]) })
	return top, busy
}
