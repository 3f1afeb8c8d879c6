package monitor_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/orchardhq/orchard/monitor"
)

// BenchmarkGather is what one scrape of a process's /metrics costs it
// (host statistics from /proc included).
func BenchmarkGather(b *testing.B) {
	reg := monitor.NewRegistry(monitor.ProcessInfo{Role: "node"}, nil, []string{b.TempDir()})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// openScraper opens a scraper of five targets, "a" to "e", that all
// answer with one node's registry; client nil is the scraper's default.
func openScraper(b *testing.B, client *http.Client) *monitor.Scraper {
	b.Helper()
	reg := monitor.NewRegistry(monitor.ProcessInfo{Role: "node"}, nil, nil)
	srv := httptest.NewServer(monitor.Handler(reg, nil))
	b.Cleanup(srv.Close)
	var ts []monitor.Target
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		ts = append(ts, monitor.Target{Name: n, Group: "g", URL: srv.URL})
	}
	s := monitor.NewScraper(monitor.ScraperOptions{Targets: ts, Every: time.Hour, Client: client})
	if err := s.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkScrapeRound is one scraper round over 5 targets (fetch, parse,
// derive, record).
func BenchmarkScrapeRound(b *testing.B) {
	s := openScraper(b, &http.Client{})
	b.ReportAllocs()
	for b.Loop() {
		s.ScrapeOnce(context.Background())
	}
}

// BenchmarkDashboard renders the dashboard page (hour view, 5 targets).
func BenchmarkDashboard(b *testing.B) {
	s := openScraper(b, nil)
	for range 20 {
		s.ScrapeOnce(context.Background())
	}
	h := monitor.NewDashboard(s)
	for _, rg := range []string{"hour", "week"} {
		b.Run(rg, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/?range="+rg, nil))
			}
		})
	}
}
