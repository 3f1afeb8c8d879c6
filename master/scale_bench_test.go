package master_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/master"
	"github.com/orchardhq/orchard/release"
	"github.com/orchardhq/orchard/render"
	"github.com/orchardhq/orchard/sqlite"
)

// BenchmarkBuildOneEdit edits one page of one site and builds that site,
// in a master holding many sites (issue 23: one edit at 10,000 sites).
// "master" is the admin UI's path (the release store stays open);
// "open" opens the release store first, as `orchard build -s` does. The
// other sites are in the database and their blobs in the release store
// (see mustOpenScaleMaster). 10,000 sites take minutes to set up: run it
// with -bench 'BuildOneEdit/sites=10000$'.
func BenchmarkBuildOneEdit(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("sites=%d", n), func(b *testing.B) {
			db, dir := mustOpenScaleMaster(b, n)
			host := scaleHost(1)
			b.Run("master", func(b *testing.B) {
				rs := mustOpenReleases(b, dir)
				svc := &master.Service{Store: db, Releases: rs, Keep: keep}
				benchEdits(b, db, host, func() { build(b, svc, host) })
			})
			b.Run("open", func(b *testing.B) {
				benchEdits(b, db, host, func() {
					rs := mustOpenReleases(b, dir)
					build(b, &master.Service{Store: db, Releases: rs, Keep: keep}, host)
					rs.Close()
				})
			})
		})
	}
}

// keep is how many releases of a site the benchmark's master keeps: the
// cluster file's default (config.DefaultKeepReleases).
const keep = 10

// benchEdits edits host's first post, then calls build, b.N times.
func benchEdits(b *testing.B, db *sqlite.DB, host string, build func()) {
	ctx := b.Context()
	p, err := db.Page(ctx, host, "/c00/p00000/")
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	cpu0 := cpuTime(b)
	for b.Loop() {
		i++
		p.Body = fmt.Sprintf("Edit %d of the first post at %d.", i, time.Now().UnixNano())
		if err := db.PutPage(ctx, host, p); err != nil {
			b.Fatal(err)
		}
		build()
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

func build(tb testing.TB, svc *master.Service, host string) {
	tb.Helper()
	res, err := svc.Build(tb.Context(), host, master.BuildOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	if !res.New || res.Rendered == 0 || res.Reused == 0 {
		tb.Fatalf("build of %s: new %v, %d rendered, %d reused: want a new release, incremental", host, res.New, res.Rendered, res.Reused)
	}
}

func mustOpenReleases(tb testing.TB, dir string) *release.Store {
	tb.Helper()
	rs, err := release.OpenStore(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rs.Close() })
	return rs
}

func scaleHost(i int) string { return fmt.Sprintf("s%05d.scale.test", i) }

// mustOpenScaleMaster makes what a master holding n sites has: a SQLite
// store with n sites of 20 posts in 4 categories with the default
// templates (bench/peers/scale.sh's shape, as cmd/gensite writes it), and
// a release store (the returned dir) holding as many blobs as n sites
// make. The first site is built from the database; the others' blobs
// come from a stand-in renderer of the same size (30 outputs of ~2 KB and
// their gzip variants, their own bytes per site), which is much quicker
// to make; they have no manifests of their own, which a build of one
// site does not read.
func mustOpenScaleMaster(tb testing.TB, n int) (*sqlite.DB, string) {
	tb.Helper()
	ctx := tb.Context()
	start := time.Now()
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "orchard.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	c := &orchard.SiteContent{Site: orchard.Site{Title: "Scale"}, Templates: render.DefaultTemplates(), Assets: render.DefaultTheme()}
	for i := range 4 {
		c.Categories = append(c.Categories, orchard.Category{Path: fmt.Sprintf("/c%02d/", i), Title: fmt.Sprintf("Category %d", i)})
	}
	body := strings.Repeat("Orchard rows need pruning, and every tree is counted. ", 18)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 20 {
		cat := fmt.Sprintf("/c%02d/", i%4)
		day := t0.Add(time.Duration(i) * 24 * time.Hour)
		c.Pages = append(c.Pages, orchard.Page{Path: fmt.Sprintf("%sp%05d/", cat, i), Category: cat, Title: fmt.Sprintf("Post %d", i),
			Body: body, Published: true, Created: day, Updated: day})
	}
	for i := 1; i <= n; i++ {
		c.Site.Host = scaleHost(i)
		if err := db.ReplaceSite(ctx, c, true); err != nil {
			tb.Fatal(err)
		}
	}
	dir := tb.TempDir()
	rs, err := release.OpenStore(dir)
	if err != nil {
		tb.Fatal(err)
	}
	defer rs.Close()
	if _, err := (&master.Service{Store: db, Releases: rs}).Build(ctx, scaleHost(1), master.BuildOptions{}); err != nil {
		tb.Fatal(err)
	}
	// The other sites' blobs, made in one build (one Sync) rather than
	// one build each, whose Syncs would each rewrite a pack index as
	// large as the store.
	if _, err := (&release.Builder{Store: rs}).Build(ctx, &orchard.Site{Host: "others.scale.test"}, standIns(n)); err != nil {
		tb.Fatal(err)
	}
	// Built a while ago, as a store is when one site is edited (the
	// release store's filter cache records only idx files at least 2 s
	// old).
	old := time.Now().Add(-time.Hour)
	idxs, _ := filepath.Glob(filepath.Join(dir, "blobs", "packs", "*.idx"))
	for _, p := range idxs {
		if err := os.Chtimes(p, old, old); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Logf("%d sites set up in %v", n, time.Since(start).Round(time.Millisecond))
	return db, dir
}

// standIns renders what sites 2 to n would: 30 pages of about 2 KB of
// HTML each, with the site's host in each page.
type standIns int

func (n standIns) Outputs() []release.Output {
	var outs []release.Output
	for i := 2; i <= int(n); i++ {
		for p := range 30 {
			outs = append(outs, release.Output{Path: fmt.Sprintf("/%s/p%02d/", scaleHost(i), p), ContentType: "text/html; charset=utf-8", Deps: []string{"page"}})
		}
	}
	return outs
}

func (n standIns) Render(path string) ([]byte, error) {
	return []byte(fmt.Sprintf("<!doctype html><title>%s</title><p>%s", path, strings.Repeat("Orchard rows need pruning. ", 80))), nil
}

func (n standIns) Inputs() map[string]string { return map[string]string{"page": "1"} }
