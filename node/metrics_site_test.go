package node_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/orchardhq/orchard/internal/promtest"
)

// TestSiteMetrics: requests are counted per site (aliases included) by
// status class with their body bytes, unknown hosts and empty classes are not, and the
// counters survive a new release of the site.
func TestSiteMetrics(t *testing.T) {
	n, _ := openActive(t)
	addr := n.Addr()
	requests := []struct {
		host, target string
		status       int
	}{
		{"a.test", "/", 200},
		{"www.a.test", "/news/", 200},
		{"a.test", "/news", 301},
		{"a.test", "/missing", 404},
		{"unknown.test", "/", 404},
	}
	var bytes int
	for _, r := range requests {
		resp, body := get(t, addr, r.host, r.target)
		if resp.StatusCode != r.status {
			t.Fatalf("%s%s: status %d, want %d", r.host, r.target, resp.StatusCode, r.status)
		}
		if r.host != "unknown.test" {
			bytes += len(body)
		}
	}
	body := promtest.Scrape(t, n.Collector())
	want := []string{
		`orchard_site_requests_total{class="2xx",role="node",site="a.test"} 2`,
		`orchard_site_requests_total{class="3xx",role="node",site="a.test"} 1`,
		`orchard_site_requests_total{class="4xx",role="node",site="a.test"} 1`,
		`orchard_site_response_bytes_total{role="node",site="a.test"} ` + strconv.Itoa(bytes),
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("metrics lack %q:\n%s", w, promtest.GrepLines(body, "orchard_site_"))
		}
	}
	// A class without requests has no series (10,000 sites would
	// otherwise send 50,000 zeros per scrape).
	for _, bad := range []string{`site="unknown.test"`, `site="www.a.test"`, `class="5xx",role="node",site="a.test"`} {
		if strings.Contains(body, bad) {
			t.Errorf("metrics hold %s:\n%s", bad, promtest.GrepLines(body, "orchard_site_"))
		}
	}

	// A new release: the same counters go on.
	fs := siteFiles()
	fs["/"] = [2]string{"text/html; charset=utf-8", "<p>second release</p>"}
	m2 := build(t, n.Store(), testSite, fs)
	if err := activate(n, m2); err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(t, addr, "a.test", "/"); resp.StatusCode != 200 || resp.Header.Get("X-Orchard-Release") == "" {
		t.Fatalf("after activate: %d", resp.StatusCode)
	}
	if body := promtest.Scrape(t, n.Collector()); !strings.Contains(body, `orchard_site_requests_total{class="2xx",role="node",site="a.test"} 3`) {
		t.Errorf("counters reset by a new release:\n%s", promtest.GrepLines(body, "orchard_site_"))
	}
}
