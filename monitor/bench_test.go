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

// BenchmarkScrapeRound is one scraper round over 5 targets (fetch, parse,
// derive, record).
func BenchmarkScrapeRound(b *testing.B) {
	reg := monitor.NewRegistry(monitor.ProcessInfo{Role: "node"}, nil, nil)
	srv := httptest.NewServer(monitor.Handler(reg, nil))
	defer srv.Close()
	var ts []monitor.Target
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		ts = append(ts, monitor.Target{Name: n, Group: "g", URL: srv.URL})
	}
	s := monitor.NewScraper(monitor.ScraperOptions{Targets: ts, Every: time.Hour, Client: &http.Client{}})
	if err := s.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
	for b.Loop() {
		s.ScrapeOnce(context.Background())
	}
}

// BenchmarkDashboard renders the dashboard page (hour view, 5 targets).
func BenchmarkDashboard(b *testing.B) {
	reg := monitor.NewRegistry(monitor.ProcessInfo{Role: "node"}, nil, nil)
	srv := httptest.NewServer(monitor.Handler(reg, nil))
	defer srv.Close()
	var ts []monitor.Target
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		ts = append(ts, monitor.Target{Name: n, Group: "g", URL: srv.URL})
	}
	s := monitor.NewScraper(monitor.ScraperOptions{Targets: ts, Every: time.Hour})
	if err := s.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
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
