package sqlite_test

import (
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlitetest"
	"github.com/orchardhq/orchard/internal/storetest"
)

// benchSite opens a database holding storetest.BenchSite(n).
func benchSite(b *testing.B, n int) orchard.Store {
	db := sqlitetest.MustOpen(b)
	if err := db.ReplaceSite(b.Context(), storetest.BenchSite(n), false); err != nil {
		b.Fatal(err)
	}
	return db
}

// bench runs one of storetest's store benchmarks on benchSite(n) and
// reports pages/s.
func bench(b *testing.B, n int, run func(*testing.B, orchard.Store) int) {
	pages := run(b, benchSite(b, n))
	b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
}

// BenchmarkPageRead reads one page by path, as the master's renderer does.
func BenchmarkPageRead(b *testing.B) { bench(b, 1000, storetest.BenchPageRead) }

// BenchmarkPageReadParallel reads pages from every core at once.
func BenchmarkPageReadParallel(b *testing.B) { bench(b, 1000, storetest.BenchPageReadParallel) }

// BenchmarkPageWrite creates or replaces one page per transaction.
func BenchmarkPageWrite(b *testing.B) { bench(b, 0, storetest.BenchPageWrite) }

// BenchmarkLoadSite reads a 1,000-page site in one snapshot, as a build does.
func BenchmarkLoadSite(b *testing.B) { bench(b, 1000, storetest.BenchLoadSite) }

// BenchmarkReplaceSite imports a 1,000-page site in one transaction.
func BenchmarkReplaceSite(b *testing.B) { bench(b, 1000, storetest.BenchReplaceSite) }
