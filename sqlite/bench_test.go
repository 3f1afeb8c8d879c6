package sqlite_test

import (
	"fmt"
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
)

// benchSite creates a site with n published posts of about 4 KB each.
func benchSite(b *testing.B, n int) orchard.Store {
	db := MustOpenDB(b)
	ctx := b.Context()
	c := &orchard.SiteContent{
		Site:       orchard.Site{Host: "bench.example"},
		Categories: []orchard.Category{{Path: "/news/", Title: "News"}},
	}
	body := strings.Repeat("Some **markdown** text for a typical post. ", 100)
	for i := range n {
		c.Pages = append(c.Pages, orchard.Page{Path: fmt.Sprintf("/news/p%d/", i), Category: "/news/",
			Title: fmt.Sprintf("Post %d", i), Body: body, Published: true})
	}
	if err := db.ReplaceSite(ctx, c, false); err != nil {
		b.Fatal(err)
	}
	return db
}

func reportPages(b *testing.B, pages int) {
	b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
}

// BenchmarkPageRead reads one page by path, as the master's renderer does.
func BenchmarkPageRead(b *testing.B) {
	db := benchSite(b, 1000)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		if _, err := db.Page(ctx, "bench.example", fmt.Sprintf("/news/p%d/", i%1000)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportPages(b, b.N)
}

// BenchmarkPageReadParallel reads pages from every core at once.
func BenchmarkPageReadParallel(b *testing.B) {
	db := benchSite(b, 1000)
	ctx := b.Context()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := db.Page(ctx, "bench.example", fmt.Sprintf("/news/p%d/", i%1000)); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	reportPages(b, b.N)
}

// BenchmarkPageWrite creates or replaces one page per transaction.
func BenchmarkPageWrite(b *testing.B) {
	db := benchSite(b, 0)
	ctx := b.Context()
	body := strings.Repeat("Some **markdown** text for a typical post. ", 100)
	i := 0
	for b.Loop() {
		p := &orchard.Page{Path: fmt.Sprintf("/news/w%d/", i%5000), Category: "/news/", Title: "W", Body: body}
		if err := db.PutPage(ctx, "bench.example", p); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportPages(b, b.N)
}

// BenchmarkLoadSite reads a 1,000-page site in one snapshot, as a build does.
func BenchmarkLoadSite(b *testing.B) {
	db := benchSite(b, 1000)
	ctx := b.Context()
	for b.Loop() {
		c, err := db.LoadSite(ctx, "bench.example")
		if err != nil || len(c.Pages) != 1000 {
			b.Fatal(err, len(c.Pages))
		}
	}
	reportPages(b, 1000*b.N)
}

// BenchmarkReplaceSite imports a 1,000-page site in one transaction.
func BenchmarkReplaceSite(b *testing.B) {
	db := benchSite(b, 1000)
	ctx := b.Context()
	c, err := db.LoadSite(ctx, "bench.example")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := db.ReplaceSite(ctx, c, true); err != nil {
			b.Fatal(err)
		}
	}
	reportPages(b, 1000*b.N)
}
