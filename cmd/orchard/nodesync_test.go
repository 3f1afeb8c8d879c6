package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

// TestNodeGC: the node's GC prunes the sites it is given (every site when
// none) and sweeps the blobs only once the releases pruned since the last
// sweep number an eighth of the sites.
func TestNodeGC(t *testing.T) {
	store, err := release.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	store.Blobs().Grace = 0
	ctx := t.Context()
	first := map[string]string{} // site -> the blob of its first release, pruned with keep 1
	const sites = 16
	for i := range sites {
		site := fmt.Sprintf("s%02d.test", i)
		for r := range 2 {
			body := fmt.Sprintf("%s release %d", site, r)
			sha, err := store.Blobs().Put(ctx, []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			id, err := store.SaveManifest(&orchard.Manifest{Site: site, Created: time.Unix(int64(1000+r), 0).UTC(),
				Files: map[string]orchard.ManifestEntry{"/index.html": {SHA256: sha, Size: int64(len(body)), ContentType: "text/html"}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := store.SetActive(site, id); err != nil {
				t.Fatal(err)
			}
			if r == 0 {
				first[site] = sha
			}
		}
	}
	gone := func() int {
		n := 0
		for _, sha := range first {
			n += len(store.Blobs().MissingOf([]string{sha}))
		}
		return n
	}
	g := &nodeGC{store: store, keep: 1}
	step := func(sites []string, wantGone int) {
		t.Helper()
		if err := g.run(sites); err != nil {
			t.Fatal(err)
		}
		if got := gone(); got != wantGone {
			t.Errorf("after GC of %q: %d first releases' blobs removed, want %d", sites, got, wantGone)
		}
	}
	step([]string{"s00.test"}, 0) // 1 pruned of 16 sites: no sweep
	step([]string{"s00.test"}, 0) // nothing more to prune
	step([]string{"s01.test"}, 2) // 2 pruned: an eighth, swept
	step([]string{"s02.test"}, 2) // 1 since the sweep
	step(nil, sites)              // every site: 14 more pruned, swept
}
