package release_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

// indexFixture is a store with sites whose releases (version 0, 1, 2
// each) are saved, version 0 active.
type indexFixture struct {
	t   *testing.T
	st  *release.Store
	ids map[string][3]string // site -> release id of each version
}

func newIndexFixture(t *testing.T, sites int) *indexFixture {
	t.Helper()
	st := mustOpenStore(t)
	f := &indexFixture{t: t, st: st, ids: map[string][3]string{}}
	for i := range sites {
		site := fmt.Sprintf("s%03d.test", i)
		var ids [3]string
		for v := range ids {
			body := fmt.Sprintf("%s version %d", site, v)
			sha, err := st.Blobs().Put(context.Background(), []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			m := &orchard.Manifest{Site: site, Created: time.Unix(1000+int64(v), 0).UTC(),
				Files: map[string]orchard.ManifestEntry{"/index.html": {SHA256: sha, Size: int64(len(body)), ContentType: "text/html"}}}
			if ids[v], err = st.SaveManifest(m); err != nil {
				t.Fatal(err)
			}
		}
		f.ids[site] = ids
		f.activate(site, 0)
	}
	return f
}

// activate makes version v of site active, through the store.
func (f *indexFixture) activate(site string, v int) {
	f.t.Helper()
	if _, err := f.st.SetActive(site, f.ids[site][v]); err != nil {
		f.t.Fatal(err)
	}
}

// age makes every pointer file old, as the pointers of a node that ran a
// while are: the index records the stamps of old pointers only.
func (f *indexFixture) age() {
	f.t.Helper()
	old := time.Now().Add(-time.Hour)
	for site := range f.ids {
		if err := os.Chtimes(f.pointer(site), old, old); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *indexFixture) pointer(site string) string {
	return filepath.Join(f.st.Dir(), "sites", site, "active")
}

func (f *indexFixture) index() string { return filepath.Join(f.st.Dir(), "active.idx") }

// want checks ActiveSites against the versions given (site -> version,
// -1 for no active release).
func (f *indexFixture) want(versions map[string]int) {
	f.t.Helper()
	sites, ids, err := f.st.ActiveSites()
	if err != nil {
		f.t.Fatal(err)
	}
	got := map[string]string{}
	for i, s := range sites {
		got[s] = ids[i]
	}
	want := map[string]string{}
	for s, v := range versions {
		want[s] = ""
		if v >= 0 {
			want[s] = f.ids[s][v]
		}
	}
	if !maps.Equal(got, want) {
		f.t.Fatalf("ActiveSites = %v, want %v", got, want)
	}
	if !slices.IsSorted(sites) {
		f.t.Fatalf("ActiveSites sites not sorted: %v", sites)
	}
}

// TestActiveSites: every site's active release read through the active
// index is the pointer's, whatever the index holds: missing, current,
// stale (pointers moved since it was written, by this store or another
// process), corrupt, or from a site since gone.
func TestActiveSites(t *testing.T) {
	all := func(f *indexFixture, v int) map[string]int {
		out := map[string]int{}
		for s := range f.ids {
			out[s] = v
		}
		return out
	}
	tests := []struct {
		name   string
		change func(f *indexFixture, versions map[string]int)
	}{
		{"OK", func(f *indexFixture, versions map[string]int) {}},
		{"Missing", func(f *indexFixture, versions map[string]int) {
			os.Remove(f.index())
		}},
		{"PointerMoved", func(f *indexFixture, versions map[string]int) {
			f.activate("s001.test", 1)
			versions["s001.test"] = 1
		}},
		{"MovedByAnotherStore", func(f *indexFixture, versions map[string]int) {
			other, err := release.OpenStore(f.st.Dir())
			if err != nil {
				f.t.Fatal(err)
			}
			defer other.Close()
			if _, err := other.SetActive("s002.test", f.ids["s002.test"][2]); err != nil {
				f.t.Fatal(err)
			}
			versions["s002.test"] = 2
		}},
		{"Rollback", func(f *indexFixture, versions map[string]int) {
			f.activate("s003.test", 1)
			f.activate("s003.test", 2)
			f.activate("s003.test", 0)
			versions["s003.test"] = 0
		}},
		{"PointerRemoved", func(f *indexFixture, versions map[string]int) {
			os.Remove(f.pointer("s004.test"))
			versions["s004.test"] = -1
		}},
		{"SiteGone", func(f *indexFixture, versions map[string]int) {
			os.RemoveAll(filepath.Dir(f.pointer("s005.test")))
			delete(versions, "s005.test")
		}},
		{"Stale", func(f *indexFixture, versions map[string]int) {
			// An index written before some pointers moved, put back (a
			// crash after the pointers were written, before the index).
			old, err := os.ReadFile(f.index())
			if err != nil {
				f.t.Fatal(err)
			}
			for _, s := range []string{"s000.test", "s006.test"} {
				f.activate(s, 2)
				versions[s] = 2
			}
			f.want(versions)
			if err := os.WriteFile(f.index(), old, 0o644); err != nil {
				f.t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newIndexFixture(t, 8)
			f.age()
			versions := all(f, 0)
			f.want(versions) // writes the index, with every stamp
			if _, err := os.Stat(f.index()); err != nil {
				t.Fatalf("no index written: %v", err)
			}
			tt.change(f, versions)
			f.want(versions)
			f.want(versions) // and again, through the index it rewrote
		})
	}
}

// TestActiveSites_Corrupt: an index that is damaged in any way (torn,
// a byte changed, another format, empty) is not used: the pointers are
// read, and the index is written again.
func TestActiveSites_Corrupt(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(data []byte) []byte
	}{
		{"Torn", func(d []byte) []byte { return d[:len(d)/2] }},
		{"ByteChanged", func(d []byte) []byte { d[len(d)/3] ^= 1; return d }},
		{"Empty", func(d []byte) []byte { return nil }},
		{"Garbage", func(d []byte) []byte { return []byte("orchard active index 1\nsum 00\n") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newIndexFixture(t, 4)
			f.age()
			versions := map[string]int{"s000.test": 0, "s001.test": 0, "s002.test": 0, "s003.test": 0}
			f.want(versions)
			data, err := os.ReadFile(f.index())
			if err != nil {
				t.Fatal(err)
			}
			// A pointer rewritten in place (same inode, mtime and size)
			// is not seen through a sound index (see
			// TestActiveSites_UsesIndex): that it is seen here shows the
			// damaged index was not used.
			inPlace(t, f.pointer("s001.test"), f.ids["s001.test"][1])
			versions["s001.test"] = 1
			if err := os.WriteFile(f.index(), tt.corrupt(data), 0o644); err != nil {
				t.Fatal(err)
			}
			f.want(versions)
			if again, err := os.ReadFile(f.index()); err != nil || string(again) == string(tt.corrupt(data)) {
				t.Fatalf("the damaged index was not written again (%v)", err)
			}
		})
	}
}

// TestActiveSites_UsesIndex: a sound index answers for the pointers it
// recorded without reading them: a pointer whose file keeps its stamp is
// not read again (here one rewritten in place, which no writer of the
// store does, and which only shows that nothing was read).
func TestActiveSites_UsesIndex(t *testing.T) {
	f := newIndexFixture(t, 3)
	f.age()
	versions := map[string]int{"s000.test": 0, "s001.test": 0, "s002.test": 0}
	f.want(versions)
	inPlace(t, f.pointer("s001.test"), f.ids["s001.test"][1])
	f.want(versions)
}

// inPlace writes id into the pointer file at path keeping its inode,
// mtime and size.
func inPlace(t *testing.T, path, id string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	fh, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteAt([]byte(id+"\n"), 0); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

// TestActiveSites_YoungPointers: pointers written less than two seconds
// ago are read each time (their stamps could come back on a later file:
// see activeindex.go), so the index holds none of them. (Dated an hour
// ahead here, so that a slow machine cannot make them old.)
func TestActiveSites_YoungPointers(t *testing.T) {
	f := newIndexFixture(t, 2)
	ahead := time.Now().Add(time.Hour)
	for site := range f.ids {
		if err := os.Chtimes(f.pointer(site), ahead, ahead); err != nil {
			t.Fatal(err)
		}
	}
	versions := map[string]int{"s000.test": 0, "s001.test": 0}
	f.want(versions)
	inPlace(t, f.pointer("s001.test"), f.ids["s001.test"][1])
	versions["s001.test"] = 1
	f.want(versions)
}
