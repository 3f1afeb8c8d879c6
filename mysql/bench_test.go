package mysql_test

import (
	"fmt"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/storetest"
	"github.com/orchardhq/orchard/mysql"
)

// benchSite opens a fresh database of the shared cluster (primary and,
// withReplicas, two replicas) holding storetest.BenchSite(n), and waits
// until the replicas have it.
func benchSite(b *testing.B, n int, withReplicas bool) *mysql.DB {
	db, c, _ := MustOpenDB(b, withReplicas)
	if err := db.ReplaceSite(b.Context(), storetest.BenchSite(n), false); err != nil {
		b.Fatal(err)
	}
	c.WaitReplicas(b)
	return db
}

// report gives pages/s and the share of reads the replicas served.
func report(b *testing.B, db *mysql.DB, pages int) {
	b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
	if len(db.Replicas()) > 0 {
		r := replicaReads(db)
		if total := r + db.PrimaryReads(); total > 0 {
			b.ReportMetric(100*float64(r)/float64(total), "%replica")
		}
	}
}

// bench runs one of storetest's store benchmarks on benchSite(n).
func bench(b *testing.B, n int, withReplicas bool, run func(*testing.B, orchard.Store) int) {
	db := benchSite(b, n, withReplicas)
	report(b, db, run(b, db))
}

// BenchmarkPageRead reads one page by path through the replicas.
func BenchmarkPageRead(b *testing.B) { bench(b, 1000, true, storetest.BenchPageRead) }

// BenchmarkPageReadPrimary reads one page by path from the primary alone.
func BenchmarkPageReadPrimary(b *testing.B) { bench(b, 1000, false, storetest.BenchPageRead) }

// BenchmarkPageReadParallel reads pages from every core at once, through
// the replicas.
func BenchmarkPageReadParallel(b *testing.B) { bench(b, 1000, true, storetest.BenchPageReadParallel) }

// BenchmarkPageWrite creates or replaces one page per transaction on the
// primary (with replicas, so each write also reads the GTID position).
func BenchmarkPageWrite(b *testing.B) { bench(b, 0, true, storetest.BenchPageWrite) }

// BenchmarkLoadSite reads a 1,000-page site in one snapshot, as a build
// does, from a replica.
func BenchmarkLoadSite(b *testing.B) { bench(b, 1000, true, storetest.BenchLoadSite) }

// BenchmarkReplaceSite imports a 1,000-page site in one transaction.
func BenchmarkReplaceSite(b *testing.B) { bench(b, 1000, true, storetest.BenchReplaceSite) }

// BenchmarkCreateSite creates one site per iteration on the primary, as
// `orchard site -c` does (issue 23: with tables per site this was four
// CREATE TABLEs, and grew with the number of tables).
func BenchmarkCreateSite(b *testing.B) {
	db, _, _ := MustOpenDB(b, false)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		if err := db.CreateSite(ctx, &orchard.Site{Host: fmt.Sprintf("site%05d.example", i)}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
