package node_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/orchardhq/orchard/node"
)

// scrape returns the text exposition of a registry holding n's collector.
func scrape(t *testing.T, n *node.Node) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(n.Collector())
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.PanicOnError}).
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

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
	body := scrape(t, n)
	want := []string{
		`orchard_site_requests_total{class="2xx",role="node",site="a.test"} 2`,
		`orchard_site_requests_total{class="3xx",role="node",site="a.test"} 1`,
		`orchard_site_requests_total{class="4xx",role="node",site="a.test"} 1`,
		`orchard_site_response_bytes_total{role="node",site="a.test"} ` + itoa(bytes),
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("metrics lack %q:\n%s", w, grep(body, "orchard_site_"))
		}
	}
	// A class without requests has no series (10,000 sites would
	// otherwise send 50,000 zeros per scrape).
	for _, bad := range []string{`site="unknown.test"`, `site="www.a.test"`, `class="5xx",role="node",site="a.test"`} {
		if strings.Contains(body, bad) {
			t.Errorf("metrics hold %s:\n%s", bad, grep(body, "orchard_site_"))
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
	if body := scrape(t, n); !strings.Contains(body, `orchard_site_requests_total{class="2xx",role="node",site="a.test"} 3`) {
		t.Errorf("counters reset by a new release:\n%s", grep(body, "orchard_site_"))
	}
}

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}

func grep(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
