package monitor_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/monitor"
)

// releases returns n sites' active releases.
func releases(n int) map[string]string {
	rels := make(map[string]string, n)
	for i := range n {
		rels[fmt.Sprintf("s%05d.test", i)] = fmt.Sprintf("%016x", i*7919)
	}
	return rels
}

// TestReleaseCollector: up to MaxReleaseSeries sites each get an
// orchard_release_info series; past it, a process reports how many sites
// and a digest of their releases (10,000 sites' series were ~650 KB a
// scrape), which the scraper keeps for the dashboard.
func TestReleaseCollector(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sites  int
		series int // orchard_release_info lines
	}{
		{"Few", 3, 3},
		{"Limit", monitor.MaxReleaseSeries, monitor.MaxReleaseSeries},
		{"Many", 10000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rels := releases(tc.sites)
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(monitor.NewReleaseCollector(func() map[string]string { return rels }))
			srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.PanicOnError}))
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			_, err = body.ReadFrom(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(body.String(), monitor.MetricReleaseInfo+"{"); got != tc.series {
				t.Fatalf("%d orchard_release_info series for %d sites, want %d", got, tc.sites, tc.series)
			}
			if body.Len() > 8<<10 && tc.series == 0 {
				t.Fatalf("release metrics of %d sites take %d bytes", tc.sites, body.Len())
			}

			s := MustOpenScraper(t, monitor.ScraperOptions{Targets: []monitor.Target{{Name: "node0", URL: srv.URL}}, Every: time.Hour})
			s.ScrapeOnce(context.Background())
			m := s.Machines()[0]
			if tc.series > 0 {
				if len(m.Releases) != tc.sites || m.Releases["s00001.test"] != rels["s00001.test"] {
					t.Fatalf("scraper holds %d releases, want %d", len(m.Releases), tc.sites)
				}
				return
			}
			if m.Sites != tc.sites || m.Digest != monitor.ReleasesDigest(rels) || len(m.Releases) != 0 {
				t.Fatalf("scraper holds %d sites, digest %x, %d releases; want %d, %x, 0",
					m.Sites, m.Digest, len(m.Releases), tc.sites, monitor.ReleasesDigest(rels))
			}
		})
	}
}

// TestVersionedReleaseCollector: past MaxReleaseSeries sites, a scrape
// reads the releases only when their version changed since the last
// one, and reports what they are then; under the limit, every scrape
// reads them, as NewReleaseCollector does.
func TestVersionedReleaseCollector(t *testing.T) {
	rels, version, reads := releases(1000), "v1", 0
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(monitor.NewVersionedReleaseCollector(
		func() map[string]string { reads++; return rels },
		func() string { return version }))
	scrape := func() (sites, digest float64) {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			switch mf.GetName() {
			case monitor.MetricReleasesActive:
				sites = mf.GetMetric()[0].GetGauge().GetValue()
			case monitor.MetricReleasesDigest:
				digest = mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		return sites, digest
	}
	check := func(when string, wantReads int) {
		t.Helper()
		sites, digest := scrape()
		if sites != float64(len(rels)) || digest != float64(monitor.ReleasesDigest(rels)) || reads != wantReads {
			t.Fatalf("%s: %v sites, digest %x, releases read %d times; want %d, %x, %d",
				when, sites, uint64(digest), reads, len(rels), monitor.ReleasesDigest(rels), wantReads)
		}
	}
	check("first scrape", 1)
	check("nothing changed", 1)
	rels = releases(1001)
	version = "v2"
	check("a site added", 2)
	check("nothing changed again", 2)
	rels = releases(3)
	version = "v3"
	for i := range 2 {
		if mfs, _ := reg.Gather(); len(mfs) != 1 || len(mfs[0].GetMetric()) != 3 {
			t.Fatalf("3 sites: want their 3 orchard_release_info series, got %v", mfs)
		}
		if reads != 3+i {
			t.Fatalf("3 sites, scrape %d: releases read %d times, want every scrape", i, reads)
		}
	}
}

// TestReleasesDigest: the digest depends on every pair and on nothing
// else (not the order of a map).
func TestReleasesDigest(t *testing.T) {
	a := releases(500)
	b := releases(500)
	if monitor.ReleasesDigest(a) != monitor.ReleasesDigest(b) {
		t.Fatal("equal releases, different digests")
	}
	b["s00007.test"] = "ffffffffffffffff"
	if monitor.ReleasesDigest(a) == monitor.ReleasesDigest(b) {
		t.Fatal("a changed release leaves the digest as it was")
	}
	if got := monitor.ReleasesDigest(a); got >= 1<<48 {
		t.Fatalf("digest %x has more than 48 bits", got)
	}
}

// TestSummedReleaseCollector: past MaxReleaseSeries sites, a source that
// keeps its count and sum is reported from them alone, with the digest
// ReleasesDigest makes of its releases; up to it, each site's series.
func TestSummedReleaseCollector(t *testing.T) {
	rels, reads := releases(1000), 0
	summed := func() (int, uint64) {
		var sum uint64
		for site, id := range rels {
			sum += orchard.ReleaseHash(site, id)
		}
		return len(rels), sum
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(monitor.NewSummedReleaseCollector(func() map[string]string { reads++; return rels }, summed))
	gather := func() map[string]float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			got[mf.GetName()] = float64(len(mf.GetMetric()))
			if m := mf.GetMetric(); len(m) == 1 && m[0].GetGauge() != nil {
				got[mf.GetName()] = m[0].GetGauge().GetValue()
			}
		}
		return got
	}
	got := gather()
	if got[monitor.MetricReleasesActive] != 1000 || got[monitor.MetricReleasesDigest] != float64(monitor.ReleasesDigest(rels)) || reads != 0 {
		t.Fatalf("1,000 sites: %v, releases listed %d times; want 1000 sites, digest %x, no listing",
			got, reads, monitor.ReleasesDigest(rels))
	}
	rels = releases(3)
	if got := gather(); got[monitor.MetricReleaseInfo] != 3 || reads != 1 {
		t.Fatalf("3 sites: %v, releases listed %d times; want their 3 series from one listing", got, reads)
	}
}
