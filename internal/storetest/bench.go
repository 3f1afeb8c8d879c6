package storetest

import (
	"fmt"
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
)

// The benchmarks below are each store's own: a store's bench_test.go opens
// the store its way (a replica set, one file), writes BenchSite, calls one
// and reports the pages it returns per second with what else it measures.

// BenchHost is the host of BenchSite.
const BenchHost = "bench.example"

// benchBody is a typical post of about 4 KB.
var benchBody = strings.Repeat("Some **markdown** text for a typical post. ", 100)

// BenchSite is a site of n published posts of about 4 KB each in /news/.
func BenchSite(n int) *orchard.SiteContent {
	c := &orchard.SiteContent{
		Site:       orchard.Site{Host: BenchHost},
		Categories: []orchard.Category{{Path: "/news/", Title: "News"}},
	}
	for i := range n {
		c.Pages = append(c.Pages, orchard.Page{Path: fmt.Sprintf("/news/p%d/", i), Category: "/news/",
			Title: fmt.Sprintf("Post %d", i), Body: benchBody, Published: true})
	}
	return c
}

// BenchPageRead reads one page by path per iteration, as the master's
// renderer does, from a store holding BenchSite(1000); it returns the
// pages read.
func BenchPageRead(b *testing.B, s orchard.Store) int {
	ctx := b.Context()
	i := 0
	for b.Loop() {
		if _, err := s.Page(ctx, BenchHost, fmt.Sprintf("/news/p%d/", i%1000)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	return b.N
}

// BenchPageReadParallel is BenchPageRead from every core at once.
func BenchPageReadParallel(b *testing.B, s orchard.Store) int {
	ctx := b.Context()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.Page(ctx, BenchHost, fmt.Sprintf("/news/p%d/", i%1000)); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	return b.N
}

// BenchPageWrite creates or replaces one page per iteration (one
// transaction each) in a store holding BenchSite(0).
func BenchPageWrite(b *testing.B, s orchard.Store) int {
	ctx := b.Context()
	i := 0
	for b.Loop() {
		p := &orchard.Page{Path: fmt.Sprintf("/news/w%d/", i%5000), Category: "/news/", Title: "W", Body: benchBody}
		if err := s.PutPage(ctx, BenchHost, p); err != nil {
			b.Fatal(err)
		}
		i++
	}
	return b.N
}

// BenchLoadSite reads BenchSite(1000) in one snapshot per iteration, as a
// build does.
func BenchLoadSite(b *testing.B, s orchard.Store) int {
	ctx := b.Context()
	for b.Loop() {
		c, err := s.LoadSite(ctx, BenchHost)
		if err != nil || len(c.Pages) != 1000 {
			b.Fatal(err, len(c.Pages))
		}
	}
	return 1000 * b.N
}

// BenchReplaceSite imports BenchSite(1000) in one transaction per
// iteration.
func BenchReplaceSite(b *testing.B, s orchard.Store) int {
	ctx := b.Context()
	c, err := s.LoadSite(ctx, BenchHost)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.ReplaceSite(ctx, c, true); err != nil {
			b.Fatal(err)
		}
	}
	return 1000 * b.N
}
