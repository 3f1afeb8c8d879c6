package monitor

import (
	"bytes"
	"fmt"
	"testing"
)

// exposition returns a node's /metrics body as it looked with every
// site's series: the node totals, host and release lines, and for each of
// sites sites six request classes and the bytes.
func exposition(sites int) []byte {
	var b bytes.Buffer
	b.WriteString("# HELP orchard_http_requests_total Requests.\n# TYPE orchard_http_requests_total counter\n")
	for _, c := range []string{"2xx", "3xx", "4xx", "5xx"} {
		fmt.Fprintf(&b, "%s{class=%q,role=\"node\"} 12345\n", MetricRequests, c)
	}
	for _, le := range []string{"0.001", "0.01", "0.1", "+Inf"} {
		fmt.Fprintf(&b, "%s_bucket{role=\"node\",le=%q} 100\n", MetricDuration, le)
	}
	fmt.Fprintf(&b, "%s{mode=\"idle\"} 1000\n%s{mode=\"user\"} 100\n", MetricCPUSeconds, MetricCPUSeconds)
	fmt.Fprintf(&b, "%s 0.5\n%s 8e9\n%s 4e9\n", MetricLoad1, MetricMemTotal, MetricMemAvailable)
	fmt.Fprintf(&b, "%s{name=\"node0\",role=\"node\",version=\"test\"} 1\n", MetricProcessInfo)
	for i := range sites {
		for _, c := range []string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"} {
			fmt.Fprintf(&b, "orchard_site_requests_total{class=%q,role=\"node\",site=\"s%05d.test\"} %d\n", c, i, i)
		}
		fmt.Fprintf(&b, "orchard_site_response_bytes_total{role=\"node\",site=\"s%05d.test\"} %d\n", i, i*1000)
	}
	return b.Bytes()
}

// TestScrapeSkipsUnread: a scrape allocates the same whether the target
// exposes 10 sites' series or 1,000, none of which the dashboard reads:
// lines of other metrics are skipped after their name. Before, every line
// was parsed into a Sample (its text, labels and value): 1,000 sites made
// a scrape allocate ~80x what 10 did.
func TestScrapeSkipsUnread(t *testing.T) {
	allocs := map[int]float64{}
	for _, sites := range []int{10, 1000} {
		body := exposition(sites)
		var r *raw
		allocs[sites] = testing.AllocsPerRun(20, func() {
			var err error
			if r, err = parseScrape(bytes.NewReader(body)); err != nil {
				t.Fatal(err)
			}
		})
		if r.reqs != 4*12345 || !r.hasCPU || r.version != "test" {
			t.Fatalf("%d sites: scrape read reqs %v, cpu %v, version %q", sites, r.reqs, r.hasCPU, r.version)
		}
		t.Logf("%d sites: %.0f allocations per scrape", sites, allocs[sites])
	}
	if allocs[1000] > allocs[10]*5/4 {
		t.Fatalf("a scrape allocates %.0f times with 1,000 sites' series, %.0f with 10: want the same", allocs[1000], allocs[10])
	}
}

// BenchmarkScrapeParse parses a node's /metrics with every site's
// series, as the master did every 5 s per node.
func BenchmarkScrapeParse(b *testing.B) {
	for _, sites := range []int{10, 1000} {
		body := exposition(sites)
		b.Run(fmt.Sprintf("sites=%d", sites), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := parseScrape(bytes.NewReader(body)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
