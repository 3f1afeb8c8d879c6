package master_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/orchardhq/orchard/master"
	"github.com/orchardhq/orchard/sqlite"
)

// BenchmarkHandler serves one post through the handler: a host lookup, a
// snapshot read of the site and its fingerprint, then the cached page.
func BenchmarkHandler(b *testing.B) {
	benchHandler(b, func(h *master.SiteHandler) {})
}

// BenchmarkHandlerNoCache renders the post on every request.
func BenchmarkHandlerNoCache(b *testing.B) {
	benchHandler(b, func(h *master.SiteHandler) { h.MaxCacheBytes = -1 })
}

func benchHandler(b *testing.B, set func(*master.SiteHandler)) {
	var db *sqlite.DB = MustOpenStore(b)
	h := master.NewSiteHandler(db, nil)
	set(h)
	req := httptest.NewRequest("GET", "/varieties/apples/bramley/", nil)
	req.Host = "alpha.localhost"
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Bramley") {
			b.Fatalf("status %d", rec.Code)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
