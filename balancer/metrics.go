package balancer

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orchardhq/orchard"
)

// Collector returns a Prometheus collector of the balancer's counters, read
// from the running state on each scrape (nothing is added to the request
// path): requests, rejections, failures, retries, edge cache, pools and
// members (state, in flight, requests, errors, bytes, latency histogram).
func (b *Balancer) Collector() prometheus.Collector { return balancerCollector{b} }

type balancerCollector struct{ b *Balancer }

var (
	bdRequests  = prometheus.NewDesc("orchard_balancer_requests_total", "Requests received.", nil, nil)
	bdRejected  = prometheus.NewDesc("orchard_balancer_rejected_total", "Requests refused by a rule.", nil, nil)
	bdFailed    = prometheus.NewDesc("orchard_balancer_failed_total", "Requests answered 502, 503 or 504 by the balancer.", nil, nil)
	bdRetries   = prometheus.NewDesc("orchard_balancer_retries_total", "Requests retried on another member.", nil, nil)
	bdHits      = prometheus.NewDesc("orchard_balancer_cache_hits_total", "Edge cache hits.", nil, nil)
	bdMisses    = prometheus.NewDesc("orchard_balancer_cache_misses_total", "Edge cache misses.", nil, nil)
	bdEvictions = prometheus.NewDesc("orchard_balancer_cache_evictions_total", "Edge cache evictions.", nil, nil)
	bdCacheB    = prometheus.NewDesc("orchard_balancer_cache_bytes", "Bytes held by the edge cache.", nil, nil)
	bdCacheN    = prometheus.NewDesc("orchard_balancer_cache_entries", "Entries in the edge cache.", nil, nil)
	bdQueued    = prometheus.NewDesc("orchard_balancer_pool_queued", "Requests waiting for a member.", []string{"pool"}, nil)
	bdRefused   = prometheus.NewDesc("orchard_balancer_pool_queue_refused_total", "Requests refused: queue full or timed out.", []string{"pool"}, nil)
	bdMReqs     = prometheus.NewDesc("orchard_balancer_member_requests_total", "Requests sent to a member.", []string{"pool", "member"}, nil)
	bdMErrs     = prometheus.NewDesc("orchard_balancer_member_errors_total", "Failed requests to a member.", []string{"pool", "member"}, nil)
	bdMIn       = prometheus.NewDesc("orchard_balancer_member_bytes_in_total", "Request bytes sent to a member.", []string{"pool", "member"}, nil)
	bdMOut      = prometheus.NewDesc("orchard_balancer_member_bytes_out_total", "Response bytes from a member.", []string{"pool", "member"}, nil)
	bdMFlight   = prometheus.NewDesc("orchard_balancer_member_in_flight", "Requests in flight to a member.", []string{"pool", "member"}, nil)
	bdMUp       = prometheus.NewDesc("orchard_balancer_member_up", "1 if the member takes requests.", []string{"pool", "member"}, nil)
	bdMState    = prometheus.NewDesc("orchard_balancer_member_state", "1 for the member's current state.", []string{"pool", "member", "state"}, nil)
	bdMWeight   = prometheus.NewDesc("orchard_balancer_member_weight", "Effective weight of a member.", []string{"pool", "member"}, nil)
	bdMLatency  = prometheus.NewDesc("orchard_balancer_member_duration_seconds", "Response time of a member (bucket upper bounds; sum approximated by them).", []string{"pool", "member"}, nil)
	bdMP99      = prometheus.NewDesc("orchard_balancer_member_latency_p99_seconds", "99th percentile response time since start.", []string{"pool", "member"}, nil)
	bdLoopReqs  = prometheus.NewDesc("orchard_balancer_loop_requests_total", "Requests the event loops answered themselves.", nil, nil)
	bdLoopHand  = prometheus.NewDesc("orchard_balancer_loop_handoffs_total", "Connections the event loops handed to a goroutine: requests they do not serve, and retries.", nil, nil)
	bdLatency   = prometheus.NewDesc("orchard_http_request_duration_seconds", "Time to answer a request (proxied, from the members' histograms).", []string{"role"}, nil)
)

// promBounds are the exported histogram's bucket bounds, in seconds.
var promBounds = [...]float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

func (c balancerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{bdRequests, bdRejected, bdFailed, bdRetries, bdHits, bdMisses, bdEvictions,
		bdCacheB, bdCacheN, bdQueued, bdRefused, bdMReqs, bdMErrs, bdMIn, bdMOut, bdMFlight, bdMUp, bdMState,
		bdMWeight, bdMLatency, bdMP99, bdLatency, bdLoopReqs, bdLoopHand} {
		ch <- d
	}
}

func (c balancerCollector) Collect(ch chan<- prometheus.Metric) {
	b := c.b
	counter := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter(bdRequests, b.stats.requests.Load())
	counter(bdRejected, b.stats.rejected.Load())
	counter(bdFailed, b.stats.failed.Load())
	counter(bdRetries, b.stats.retries.Load())
	if b.fast.loops != nil {
		counter(bdLoopReqs, b.fast.loopServed.Load())
		counter(bdLoopHand, b.fast.loopHanded.Load())
	}
	t := b.table.Load()
	if t == nil {
		return
	}
	if cc := t.cache; cc != nil {
		counter(bdHits, cc.hits.Load())
		counter(bdMisses, cc.misses.Load())
		counter(bdEvictions, cc.evictions.Load())
		gauge(bdCacheB, float64(cc.size.Load()))
		gauge(bdCacheN, float64(cc.count.Load()))
	}
	var all [len(promBounds) + 1]uint64
	var allSum float64
	now := time.Now().UnixNano()
	for _, p := range t.pools {
		gauge(bdQueued, float64(p.nwaiting.Load()), p.Name)
		counter(bdRefused, p.queueFull.Load(), p.Name)
		for _, m := range p.members {
			l := []string{p.Name, m.cfg.Name}
			counter(bdMReqs, m.requests.Load(), l...)
			counter(bdMErrs, m.errors.Load(), l...)
			counter(bdMIn, m.bytesIn.Load(), l...)
			counter(bdMOut, m.bytesOut.Load(), l...)
			gauge(bdMFlight, float64(m.inflight.Load()), l...)
			st := m.state(now)
			up := 0.0
			if st == orchard.MemberOK || st == orchard.MemberStandby {
				up = 1
			}
			gauge(bdMUp, up, l...)
			gauge(bdMState, 1, p.Name, m.cfg.Name, st)
			gauge(bdMWeight, float64(m.weight.Load()), l...)
			gauge(bdMP99, m.lat.quantile(0.99).Seconds(), l...)
			var mine [len(promBounds) + 1]uint64
			var sum float64
			for i := range m.lat.b {
				n := m.lat.b[i].Load()
				if n == 0 {
					continue
				}
				up := bucketUpper(i).Seconds()
				sum += up * float64(n)
				j := 0
				for j < len(promBounds) && up > promBounds[j] {
					j++
				}
				mine[j] += n
			}
			buckets, count := cumulate(mine[:])
			ch <- prometheus.MustNewConstHistogram(bdMLatency, count, sum, buckets, l...)
			for i, n := range mine {
				all[i] += n
			}
			allSum += sum
		}
	}
	buckets, count := cumulate(all[:])
	ch <- prometheus.MustNewConstHistogram(bdLatency, count, allSum, buckets, "balancer")
}

// cumulate turns per-bucket counts (the last is +Inf) into Prometheus'
// cumulative buckets and the total count.
func cumulate(n []uint64) (map[float64]uint64, uint64) {
	out := make(map[float64]uint64, len(promBounds))
	var cum uint64
	for i, ub := range promBounds {
		cum += n[i]
		out[ub] = cum
	}
	return out, cum + n[len(promBounds)]
}
