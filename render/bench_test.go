package render_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/render"
)

// sampleSite returns the demo's first sample site with the default theme.
func sampleSite() *orchard.SiteContent {
	c := sample.Sites()[0]
	c.Templates = render.DefaultTemplates()
	c.Assets = render.DefaultTheme()
	return c
}

// BenchmarkRenderPage renders one typical post (Markdown with a table,
// through the default post layout and partials).
func BenchmarkRenderPage(b *testing.B) {
	r, err := render.New(sampleSite())
	if err != nil {
		b.Fatal(err)
	}
	const key = "/varieties/apples/bramley/index.html"
	var n int
	for b.Loop() {
		out, err := r.Render(key)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.SetBytes(int64(n))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}

// bigSite is a site of n posts of about 8 KB of Markdown in 20 categories.
func bigSite(n int) *orchard.SiteContent {
	c := sampleSite()
	c.Pages = nil
	c.Categories = nil
	para := strings.Repeat("Orchard rows need pruning, and **every** tree is counted. ", 12) + "\n\n"
	body := "## Section\n\n" + strings.Repeat(para, 11)
	for i := range 20 {
		c.Categories = append(c.Categories, orchard.Category{Path: fmt.Sprintf("/c%02d/", i), Title: fmt.Sprintf("Category %d", i)})
	}
	for i := range n {
		cat := fmt.Sprintf("/c%02d/", i%20)
		c.Pages = append(c.Pages, orchard.Page{Path: fmt.Sprintf("%sp%05d/", cat, i), Category: cat, Title: fmt.Sprintf("Post %d", i),
			Body: body, Published: true, Created: day(i % 365), Updated: day(i % 365)})
	}
	return c
}

// BenchmarkNew indexes a 10,000-page site (what every build, even an
// incremental one, starts with).
func BenchmarkNew(b *testing.B) {
	c := bigSite(10_000)
	for b.Loop() {
		if _, err := render.New(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderBigSite renders every post of a 1,000-page site of ~8 KB
// pages, for pages/s on realistic bodies.
func BenchmarkRenderBigSite(b *testing.B) {
	r, err := render.New(bigSite(1000))
	if err != nil {
		b.Fatal(err)
	}
	var keys []string
	for _, o := range r.Outputs() {
		if strings.HasPrefix(o.Path, "/c") && strings.Count(o.Path, "/") == 3 {
			keys = append(keys, o.Path)
		}
	}
	i := 0
	for b.Loop() {
		if _, err := r.Render(keys[i%len(keys)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}

// BenchmarkNewLazy is BenchmarkNew on a site's index (no bodies, digests
// given), as an incremental build indexes it.
func BenchmarkNewLazy(b *testing.B) {
	c, _ := index(bigSite(10000))
	load := func(context.Context, []string) (map[string]orchard.PageBody, error) { return nil, nil }
	for b.Loop() {
		if _, err := render.NewLazy(c, load); err != nil {
			b.Fatal(err)
		}
	}
}
