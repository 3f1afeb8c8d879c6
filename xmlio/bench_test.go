package xmlio_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/sqlite"
	"github.com/orchardhq/orchard/xmlio"
)

// bigSite returns a site of n pages with ~2 KB Markdown bodies in 20
// categories, and a few assets.
func bigSite(n int) *orchard.SiteContent {
	t0 := time.Date(2026, 1, 4, 17, 15, 0, 0, time.UTC)
	c := &orchard.SiteContent{Site: orchard.Site{Host: "big.example", Title: "Big", Scheme: "http", CacheControl: orchard.DefaultCacheControl, FeedSize: 20, Created: t0, Updated: t0}}
	for i := range 20 {
		c.Categories = append(c.Categories, orchard.Category{Path: fmt.Sprintf("/c%02d/", i), Title: fmt.Sprintf("Category %d", i), Created: t0, Updated: t0})
	}
	body := strings.Repeat("Some *Markdown* text with a [link](/c01/) & an <em>inline</em> tag.\n\n", 28)
	for i := range n {
		cat := fmt.Sprintf("/c%02d/", i%20)
		c.Pages = append(c.Pages, orchard.Page{Path: fmt.Sprintf("%sp%05d/", cat, i), Category: cat, Title: fmt.Sprintf("Page %d", i),
			Layout: "post", Format: "markdown", Body: body, Published: true, Created: t0.Add(time.Duration(i) * time.Minute), Updated: t0})
	}
	for i := range 10 {
		c.Assets = append(c.Assets, orchard.Asset{Path: fmt.Sprintf("/img/%d.png", i), ContentType: "image/png", Data: bytes.Repeat([]byte{byte(i), 0x89, 'P', 'N', 'G'}, 20000), Updated: t0})
	}
	return c
}

// bigExport returns bigSite(n) and its export.
func bigExport(tb testing.TB, n int) (*orchard.SiteContent, []byte) {
	tb.Helper()
	c := bigSite(n)
	var buf bytes.Buffer
	if err := xmlio.Export(context.Background(), &buf, c, xmlio.ExportOptions{}); err != nil {
		tb.Fatal(err)
	}
	return c, buf.Bytes()
}

func BenchmarkExport(b *testing.B) {
	c, data := bigExport(b, 10_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := xmlio.Export(context.Background(), io.Discard, c, xmlio.ExportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(c.Pages))*float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}

func BenchmarkDecode(b *testing.B) {
	c, data := bigExport(b, 10_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := xmlio.Decode(context.Background(), bytes.NewReader(data), xmlio.Limits{}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(c.Pages))*float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}

// BenchmarkImportSQLite decodes a 10,000-page file and writes it into a
// fresh SQLite database in one transaction, as `orchard site -c --import` does.
func BenchmarkImportSQLite(b *testing.B) {
	_, data := bigExport(b, 10_000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		b.StopTimer()
		db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "orchard.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c, err := xmlio.Decode(b.Context(), bytes.NewReader(data), xmlio.Limits{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := db.ReplaceSite(b.Context(), c, false); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(10_000*float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}
