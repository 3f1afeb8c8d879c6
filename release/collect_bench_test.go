package release_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orchardhq/orchard/internal/releasetest"
	"github.com/orchardhq/orchard/release"
)

// mustFillReleases writes releases releases of each of sites sites of 20
// pages into the store under dir, the newest active, each with the
// summary a saved manifest has beside it, as a node that received them
// holds them: blobs synced once, nothing else fsynced (a fixture).
func mustFillReleases(tb testing.TB, dir string, sites, releases int) {
	tb.Helper()
	st, err := release.OpenStore(dir)
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	pad := strings.Repeat(" orchard", 32)
	for i := range sites {
		host := fmt.Sprintf("s%05d.collect.test", i)
		for v := range releases {
			r := releasetest.New(tb, st, host, v)
			html := "text/html; charset=utf-8"
			r.Put("/index.html", html, fmt.Appendf(nil, "<h1>%s</h1><p>version %d</p>%s", host, v, pad))
			r.Put("/404.html", html, []byte("<p>not found on "+host+"</p>"))
			for p := range 20 {
				r.Put(fmt.Sprintf("/post/%d/index.html", p), html, fmt.Appendf(nil, "<p>%s post %d</p>%s", host, p, pad))
			}
			id := releasetest.WriteActive(tb, dir, r.M)
			sum, err := json.Marshal(release.Summary(r.M))
			if err != nil {
				tb.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "sites", host, "releases", id+".release"), sum, 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := st.Blobs().Sync(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkCollect is the GC a node runs (at most once a minute) while
// publishes go on: Store.Collect keeping 10 releases a site, over a store
// of sites sites with releases releases each, every blob young (nothing
// to remove: the cost of finding what is live).
func BenchmarkCollect(b *testing.B) {
	for _, c := range []struct{ sites, releases int }{{2000, 1}, {2000, 3}, {2000, 10}, {10000, 1}} {
		b.Run(fmt.Sprintf("sites=%d/releases=%d", c.sites, c.releases), func(b *testing.B) {
			dir := b.TempDir()
			mustFillReleases(b, dir, c.sites, c.releases)
			st, err := release.OpenStore(dir)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			for b.Loop() {
				if _, err := st.Collect(10); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
