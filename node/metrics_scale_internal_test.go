package node

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/orchardhq/orchard/monitor"
)

// TestMetrics_TenThousandSites: a node holding 10,000 sites, all of
// which had requests, serves a /metrics (wired as cmd/orchard wires it:
// runtime, process, host, node and release collectors) of at most 64 KB:
// per-site series for the 20 busiest sites only, no zero-valued class,
// totals counting every request. Before, every site had 7 series and a
// release line: 10,000 sites made ~1.3 MB.
func TestMetrics_TenThousandSites(t *testing.T) {
	const sites = 10000
	n := New(Config{Name: "node0"})
	n.mu.Lock()
	for i := range sites {
		n.installLocked(siteHost(i), &site{host: siteHost(i), id: fmt.Sprintf("%016x", i)})
	}
	n.rebuildHostsLocked()
	n.mu.Unlock()
	var total uint64
	for i := range sites {
		s := n.lookupHost([]byte(siteHost(i)))
		// Site i has i%1000+1 requests of 2xx: the busiest are the
		// sites ending in 999, 998, ... and a tie breaks by host.
		for range i%1000 + 1 {
			s.slot.counters().add(uint64(i), 2, 10)
			n.metrics.shards[i%metricShards].class[2].Add(1)
			total++
		}
	}
	reg := monitor.NewRegistry(monitor.ProcessInfo{Role: "node", Name: "node0", Version: "test"}, nil,
		[]string{t.TempDir()}, n.Collector(), monitor.NewSummedReleaseCollector(n.Releases, n.ReleasesSum))
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.PanicOnError}).
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	if len(body) > 64<<10 {
		t.Fatalf("/metrics at %d sites is %d bytes, want at most 64 KB", sites, len(body))
	}
	t.Logf("/metrics at %d sites: %d bytes, %d lines", sites, len(body), strings.Count(body, "\n"))
	for _, want := range []string{
		`orchard_http_requests_total{class="2xx",role="node"} ` + strconv.FormatFloat(float64(total), 'g', -1, 64),
		`orchard_node_sites 10000`,
		`orchard_releases_active 10000`,
		`orchard_node_site_metrics_omitted 9980`,
		`orchard_site_requests_total{class="2xx",role="node",site="s00999.test"} 1000`,
		`orchard_site_response_bytes_total{role="node",site="s00999.test"} 10000`,
		`orchard_site_requests_total{class="2xx",role="node",site="s01998.test"} 999`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if got := strings.Count(body, "orchard_site_requests_total{"); got != DefaultSiteMetrics {
		t.Errorf("%d per-site request series, want %d (one non-zero class each)", got, DefaultSiteMetrics)
	}
	for _, bad := range []string{`class="5xx",role="node",site=`, `site="s00000.test"`, "orchard_release_info{"} {
		if strings.Contains(body, bad) {
			t.Errorf("/metrics holds %q", bad)
		}
	}
}

// TestBusiest: the k busiest sites by requests, busiest first, ties by
// host; idle sites are not counted.
func TestBusiest(t *testing.T) {
	reqs := []uint64{5, 0, 9, 5, 1, 9}
	hosts := make([]string, len(reqs))
	stats := make([]*siteStats, len(reqs))
	for i, r := range reqs {
		hosts[i] = fmt.Sprintf("h%d.test", i)
		stats[i] = new(siteStats)
		for range r {
			stats[i].add(uint64(i), 2, 0)
		}
	}
	for _, tc := range []struct {
		k    int
		want string
	}{
		{0, ""},
		{1, "h2.test"},
		{3, "h2.test h5.test h0.test"},
		{10, "h2.test h5.test h0.test h3.test h4.test"},
		{1 << 40, "h2.test h5.test h0.test h3.test h4.test"}, // "every site": no buffer of k
	} {
		top, busy := busiest(hosts, stats, tc.k)
		var got []string
		for _, s := range top {
			got = append(got, s.host)
		}
		if strings.Join(got, " ") != tc.want || busy != 5 {
			t.Errorf("busiest(k=%d) = %q, %d busy; want %q, 5", tc.k, got, busy, tc.want)
		}
	}
}
