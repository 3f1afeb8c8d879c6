package release_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

// TestActiveAll: every site's active release; a second call answers from
// what the first read (a pointer changed behind the store's back is not
// seen), and a pointer moved by another Store on the same directory (the
// CLI's publish while the master runs) is seen at the next call.
func TestActiveAll(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	save := func(st *release.Store, site, body string) string { return activateRelease(t, st, site, body) }
	want := map[string]string{"a.test": save(st, "a.test", "a1"), "b.test": save(st, "b.test", "b1")}
	save(st, "c.test", "c1")
	// A site with releases and no active one is left out.
	if err := os.Remove(filepath.Join(dir, "sites", "c.test", "active")); err != nil {
		t.Fatal(err)
	}
	got, err := st.ActiveAll()
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("ActiveAll = %v, %v; want %v", got, err, want)
	}

	// Behind the store's back: no generation change, so the answer is the
	// one read before.
	if err := os.WriteFile(filepath.Join(dir, "sites", "b.test", "active"), []byte(want["a.test"]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v1 := st.ActiveVersion()
	got, _ = st.ActiveAll()
	if !maps.Equal(got, want) {
		t.Errorf("ActiveAll read the pointers again without a change: %v", got)
	}
	if v1 == "" || st.ActiveVersion() != v1 {
		t.Errorf("ActiveVersion %q, then %q without a change", v1, st.ActiveVersion())
	}
	// A pointer this store moves updates the answer without reading the
	// others again (b.test's change behind its back stays unseen).
	want["a.test"] = save(st, "a.test", "a2")
	got, _ = st.ActiveAll()
	if !maps.Equal(got, want) {
		t.Errorf("after this store moved a.test: ActiveAll = %v, want %v", got, want)
	}
	v1 = st.ActiveVersion()
	got["a.test"] = "mine" // the caller's map
	if again, _ := st.ActiveAll(); again["a.test"] != want["a.test"] {
		t.Error("a caller's change to the returned map reached the store's")
	}

	other, err := release.OpenStore(dir) // another process's store
	if err != nil {
		t.Fatal(err)
	}
	want["b.test"] = save(other, "b.test", "b2")
	if v := st.ActiveVersion(); v == v1 || v != other.ActiveVersion() {
		t.Errorf("ActiveVersion after another store moved b.test: %q (before %q; the other store's %q)", v, v1, other.ActiveVersion())
	}
	// The other store's move is taken from the generation log, without
	// reading every pointer: a.test's change behind the store's back is
	// still not seen.
	if err := os.WriteFile(filepath.Join(dir, "sites", "a.test", "active"), []byte(want["b.test"]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = st.ActiveAll()
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("after another store moved b.test: ActiveAll = %v, %v; want %v", got, err, want)
	}
	// A generation file that is no log (damaged, or of an older version)
	// makes the next call read every pointer: the changes behind the
	// store's back show.
	if err := os.WriteFile(filepath.Join(dir, "active-gen"), []byte("1700000000 42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want["a.test"], want["b.test"] = want["b.test"], want["b.test"]
	got, err = st.ActiveAll()
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("after the log was lost: ActiveAll = %v, %v; want %v", got, err, want)
	}
	// Moves after that start a new log, which the store follows again.
	want["c.test"] = save(other, "c.test", "c2")
	got, err = st.ActiveAll()
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("in a new log: ActiveAll = %v, %v; want %v", got, err, want)
	}
}

// TestActiveSince: the pointers moved since a version, from any store on
// the directory; no answer for a version the log does not reach.
func TestActiveSince(t *testing.T) {
	dir := t.TempDir()
	st, other := openStore(t, dir), openStore(t, dir)
	activate := func(st *release.Store, site, body string) string { return activateRelease(t, st, site, body) }
	activate(st, "a.test", "a1")
	v1 := st.ActiveVersion()
	if got, ok := st.ActiveSince(v1); !ok || len(got) != 0 {
		t.Fatalf("ActiveSince(now) = %v, %v; want nothing, true", got, ok)
	}
	activate(other, "b.test", "b1")
	a2 := activate(st, "a.test", "a2")
	b2 := activate(other, "b.test", "b2")
	want := map[string]string{"a.test": a2, "b.test": b2}
	if got, ok := st.ActiveSince(v1); !ok || !maps.Equal(got, want) {
		t.Fatalf("ActiveSince(v1) = %v, %v; want %v", got, ok, want)
	}
	for _, bad := range []string{"", "x", "nope.1", v1 + "0"} {
		if got, ok := st.ActiveSince(bad); ok {
			t.Errorf("ActiveSince(%q) = %v, true; want false", bad, got)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "active-gen"), []byte("damaged\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, ok := st.ActiveSince(v1); ok {
		t.Errorf("ActiveSince after the log was lost = %v, true; want false", got)
	}
}

// activateRelease stores a release of site serving body at /index.html
// through st and makes it active; it returns the release id.
func activateRelease(t *testing.T, st *release.Store, site, body string) string {
	t.Helper()
	sha, err := st.Blobs().Put(context.Background(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	id, err := st.SaveManifest(&orchard.Manifest{Site: site, Created: time.Unix(1000, 0).UTC(),
		Files: map[string]orchard.ManifestEntry{"/index.html": {SHA256: sha, Size: int64(len(body)), ContentType: "text/html"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetActive(site, id); err != nil {
		t.Fatal(err)
	}
	return id
}
