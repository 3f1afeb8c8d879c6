package mysql_test

import (
	"fmt"
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/mysql"
)

// benchSite creates a site with n published posts of about 4 KB each on a
// fresh database of the shared cluster (primary and two replicas), and
// waits until the replicas have it.
func benchSite(b *testing.B, n int, withReplicas bool) *mysql.DB {
	db, c, _ := MustOpenDB(b, withReplicas)
	ctx := b.Context()
	content := &orchard.SiteContent{
		Site:       orchard.Site{Host: "bench.example"},
		Categories: []orchard.Category{{Path: "/news/", Title: "News"}},
	}
	body := strings.Repeat("Some **markdown** text for a typical post. ", 100)
	for i := range n {
		content.Pages = append(content.Pages, orchard.Page{Path: fmt.Sprintf("/news/p%d/", i), Category: "/news/",
			Title: fmt.Sprintf("Post %d", i), Body: body, Published: true})
	}
	if err := db.ReplaceSite(ctx, content, false); err != nil {
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

func benchRead(b *testing.B, withReplicas bool) {
	db := benchSite(b, 1000, withReplicas)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		if _, err := db.Page(ctx, "bench.example", fmt.Sprintf("/news/p%d/", i%1000)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	report(b, db, b.N)
}

// BenchmarkPageRead reads one page by path through the replicas.
func BenchmarkPageRead(b *testing.B) { benchRead(b, true) }

// BenchmarkPageReadPrimary reads one page by path from the primary alone.
func BenchmarkPageReadPrimary(b *testing.B) { benchRead(b, false) }

// BenchmarkPageReadParallel reads pages from every core at once, through
// the replicas.
func BenchmarkPageReadParallel(b *testing.B) {
	db := benchSite(b, 1000, true)
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
	report(b, db, b.N)
}

// BenchmarkPageWrite creates or replaces one page per transaction on the
// primary (with replicas, so each write also reads the GTID position).
func BenchmarkPageWrite(b *testing.B) {
	db := benchSite(b, 0, true)
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
	report(b, db, b.N)
}

// BenchmarkLoadSite reads a 1,000-page site in one snapshot, as a build
// does, from a replica.
func BenchmarkLoadSite(b *testing.B) {
	db := benchSite(b, 1000, true)
	ctx := b.Context()
	for b.Loop() {
		c, err := db.LoadSite(ctx, "bench.example")
		if err != nil || len(c.Pages) != 1000 {
			b.Fatal(err, len(c.Pages))
		}
	}
	report(b, db, 1000*b.N)
}

// BenchmarkReplaceSite imports a 1,000-page site in one transaction.
func BenchmarkReplaceSite(b *testing.B) {
	db := benchSite(b, 1000, true)
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
	report(b, db, 1000*b.N)
}

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
