package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/sqlite"
)

// scaleHost is the host of the i-th generated site.
func scaleHost(i int) string { return fmt.Sprintf("site%05d.example", i) }

// addScaleSites creates sites from..to-1 in db, each with a category and
// two pages (small, as most sites of a mass blogging platform are), and
// returns how long each CreateSite took.
func addScaleSites(tb testing.TB, db orchard.Store, from, to int) []time.Duration {
	tb.Helper()
	ctx := tb.Context()
	var took []time.Duration
	for i := from; i < to; i++ {
		h := scaleHost(i)
		start := time.Now()
		if err := db.CreateSite(ctx, &orchard.Site{Host: h, Title: h}); err != nil {
			tb.Fatal(err)
		}
		took = append(took, time.Since(start))
		if err := db.PutCategory(ctx, h, &orchard.Category{Path: "/news/", Title: "News"}); err != nil {
			tb.Fatal(err)
		}
		for j := range 2 {
			p := &orchard.Page{Path: fmt.Sprintf("/news/p%d/", j), Category: "/news/", Title: "Post", Body: "Some *text*.", Published: true}
			if err := db.PutPage(ctx, h, p); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return took
}

// openTime returns the median time of n opens and closes of the store at
// path, as every CLI command pays it.
func openTime(tb testing.TB, path string, n int) time.Duration {
	tb.Helper()
	var took []time.Duration
	for range n {
		start := time.Now()
		db, err := sqlite.Open(tb.Context(), path)
		if err != nil {
			tb.Fatal(err)
		}
		if err := db.Close(); err != nil {
			tb.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	return median(took)
}

// pageListTime returns the median time of n `page ls` runs: open the store,
// list one site's pages, close.
func pageListTime(tb testing.TB, ctx context.Context, path, host string, n int) time.Duration {
	tb.Helper()
	var took []time.Duration
	for range n {
		start := time.Now()
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			tb.Fatal(err)
		}
		if ps, err := db.Pages(ctx, host, orchard.PageFilter{}); err != nil || len(ps) != 2 {
			tb.Fatalf("Pages(%s) = %d pages, %v; want 2", host, len(ps), err)
		}
		db.Close()
		took = append(took, time.Since(start))
	}
	return median(took)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestScaleCurve is issue 23's CI check that per-site costs stay flat as
// sites are added: opening the store with 300 sites must cost about what
// it costs with 10, and creating the last tenth of 300 sites about what
// creating the first tenth did. It compares ratios of medians measured in
// the same process, never absolute times. The margins are wide on
// purpose: a shared CI machine (and -race, which slows everything about
// 5x) moves single timings by 2x or more, while the layout this guards
// against (tables per site, which SQLite parses on every open and rescans
// on every CREATE) made open 20x slower at 300 sites and creation grow
// without bound.
func TestScaleCurve(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("creates 300 sites; skipped with -short (never on CI)")
	}
	const total, small = 300, 10
	path := filepath.Join(t.TempDir(), "orchard.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	creates := addScaleSites(t, db, 0, small)
	openSmall := openTime(t, path, 7)
	creates = append(creates, addScaleSites(t, db, small, total)...)
	openLarge := openTime(t, path, 7)

	// Open: 3x plus 20 ms of slack, as the issue states it (the target is
	// "within 20 ms of its time at 10 sites").
	if limit := 3*openSmall + 20*time.Millisecond; openLarge > limit {
		t.Errorf("opening the store with %d sites took %v, with %d sites %v: want at most 3x + 20ms = %v",
			total, openLarge, small, openSmall, limit)
	}
	// Create: the median of the last tenth within 2x of the first tenth's,
	// plus 2 ms for a machine busy with other builds (a create is a few
	// milliseconds, mostly the WAL commit, so scheduling noise alone can
	// be a millisecond).
	tenth := total / 10
	first, last := median(creates[:tenth]), median(creates[total-tenth:])
	if limit := 2*first + 2*time.Millisecond; last > limit {
		t.Errorf("creating a site took %v (median) in the first tenth of %d sites and %v in the last: want at most 2x + 2ms = %v",
			first, total, last, limit)
	}
	t.Logf("open: %v at %d sites, %v at %d; create: %v first tenth, %v last tenth", openSmall, small, openLarge, total, first, last)
}

// BenchmarkScale prints the figures of issue 23's table for the store: for
// N sites, the median time to create a site in the first and the last
// tenth (as metrics of the parent run), then the open time and a `page ls`
// (open, list one site's pages, close) as sub-benchmarks. 10,000 sites
// takes minutes: run it with -bench 'Scale/sites=10000'.
func BenchmarkScale(b *testing.B) {
	for _, n := range []int{10, 300, 1000, 10000} {
		b.Run(fmt.Sprintf("sites=%d", n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "orchard.db")
			db, err := sqlite.Open(b.Context(), path)
			if err != nil {
				b.Fatal(err)
			}
			creates := addScaleSites(b, db, 0, n)
			db.Close()
			tenth := max(n/10, 1)
			b.Logf("%d sites: create first tenth %v, last tenth %v (medians)", n, median(creates[:tenth]), median(creates[n-tenth:]))
			b.Run("open", func(b *testing.B) {
				for b.Loop() {
					openTime(b, path, 1)
				}
			})
			b.Run("pagels", func(b *testing.B) {
				for b.Loop() {
					pageListTime(b, b.Context(), path, scaleHost(n/2), 1)
				}
			})
		})
	}
}
