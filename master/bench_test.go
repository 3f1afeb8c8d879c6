package master_test

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/master"
	"github.com/orchardhq/orchard/render"
	"github.com/orchardhq/orchard/sqlite"
)

// BenchmarkHandler serves one post of a sample site through the handler.
func BenchmarkHandler(b *testing.B) {
	benchHandler(b, MustOpenStore(b), "alpha.localhost", "/varieties/apples/bramley/", "Bramley", func(h *master.SiteHandler) {})
}

// BenchmarkHandlerNoCache renders the post on every request.
func BenchmarkHandlerNoCache(b *testing.B) {
	benchHandler(b, MustOpenStore(b), "alpha.localhost", "/varieties/apples/bramley/", "Bramley", func(h *master.SiteHandler) { h.MaxCacheBytes = -1 })
}

// BenchmarkHandler10k serves one unchanged post of a 10,000-page site on
// SQLite: what a preview of a big site costs while nobody edits it.
func BenchmarkHandler10k(b *testing.B) {
	db := mustOpenBigStore(b, 10_000)
	benchHandler(b, db, bigHost, "/c07/p00007/", "Post 7", func(h *master.SiteHandler) {})
}

// BenchmarkHandler10kEdit edits one page of a 10,000-page site, then serves
// it: the cost of the first request after an edit.
func BenchmarkHandler10kEdit(b *testing.B) {
	db := mustOpenBigStore(b, 10_000)
	h := master.NewSiteHandler(db, nil)
	ctx := b.Context()
	p, err := db.Page(ctx, bigHost, "/c07/p00007/")
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		p.Title = fmt.Sprintf("Post 7 edit %d", i)
		if err := db.PutPage(ctx, bigHost, p); err != nil {
			b.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/c07/p00007/", nil)
		req.Host = bigHost
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), p.Title) {
			b.Fatalf("status %d, or the edit is not shown", rec.Code)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func benchHandler(b *testing.B, db *sqlite.DB, host, path, want string, set func(*master.SiteHandler)) {
	h := master.NewSiteHandler(db, nil)
	set(h)
	req := httptest.NewRequest("GET", path, nil)
	req.Host = host
	// The first request reads and indexes the site: a cost of the first
	// request after an edit (BenchmarkHandler10kEdit), not of this one.
	warm := httptest.NewRecorder()
	if h.ServeHTTP(warm, req); warm.Code != 200 {
		b.Fatalf("status %d", warm.Code)
	}
	cpu0 := cpuTime(b)
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			b.Fatalf("status %d", rec.Code)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	// On a shared machine the wall clock counts other processes' work;
	// the CPU time this process spent per request does not.
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const bigHost = "big.localhost"

// mustOpenBigStore opens a SQLite store holding one site of n posts of
// about 4 KB of Markdown in 20 categories, with the default templates.
func mustOpenBigStore(tb testing.TB, n int) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "orchard.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	c := &orchard.SiteContent{Site: orchard.Site{Host: bigHost, Title: "Big"}, Templates: render.DefaultTemplates(), Assets: render.DefaultTheme()}
	for i := range 20 {
		c.Categories = append(c.Categories, orchard.Category{Path: fmt.Sprintf("/c%02d/", i), Title: fmt.Sprintf("Category %d", i)})
	}
	body := "## Section\n\n" + strings.Repeat("Orchard rows need pruning, and **every** tree is counted. ", 70)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		cat := fmt.Sprintf("/c%02d/", i%20)
		day := t0.Add(time.Duration(i%365) * 24 * time.Hour)
		c.Pages = append(c.Pages, orchard.Page{Path: fmt.Sprintf("%sp%05d/", cat, i), Category: cat, Title: fmt.Sprintf("Post %d", i),
			Body: body, Published: true, Created: day, Updated: day})
	}
	if err := db.ReplaceSite(tb.Context(), c, false); err != nil {
		tb.Fatal(err)
	}
	return db
}
