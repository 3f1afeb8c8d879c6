package release_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

func TestBlobs(t *testing.T) {
	dir := t.TempDir()
	b := openBlobs(t, dir)
	data := []byte("hello blob")
	sha, err := b.Put(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if sha != hex.EncodeToString(sum[:]) {
		t.Fatalf("Put sha = %s", sha)
	}
	if want := filepath.Join(dir, "blobs", sha[:2], sha); b.Path(sha) != want {
		t.Fatalf("Path = %s, want %s", b.Path(sha), want)
	}
	if got, err := b.Get(sha); err != nil || !bytes.Equal(got, data) || !b.Has(sha) {
		t.Fatalf("Get = %q, %v", got, err)
	}

	t.Run("PutVerified", func(t *testing.T) {
		d := []byte("verified content")
		s := sha256.Sum256(d)
		good := hex.EncodeToString(s[:])
		if err := b.PutVerified(good, bytes.NewReader(d), 100); err != nil || !b.Has(good) {
			t.Fatalf("PutVerified good: %v", err)
		}
		bad := strings.Repeat("ab", 32)
		if err := b.PutVerified(bad, bytes.NewReader(d), 100); !errors.Is(err, release.ErrHashMismatch) {
			t.Fatalf("PutVerified mismatch: %v, want ErrHashMismatch", err)
		}
		if b.Has(bad) {
			t.Fatal("mismatched blob was kept")
		}
		big := bytes.Repeat([]byte("x"), 200)
		s = sha256.Sum256(big)
		if err := b.PutVerified(hex.EncodeToString(s[:]), bytes.NewReader(big), 100); !errors.Is(err, release.ErrHashMismatch) {
			t.Fatalf("PutVerified too big: %v", err)
		}
		for _, name := range []string{"../../etc/passwd", "ABCD", strings.Repeat("A", 64), ""} {
			if err := b.PutVerified(name, bytes.NewReader(d), 100); !errors.Is(err, release.ErrInvalidHash) {
				t.Fatalf("PutVerified(%q) = %v, want ErrInvalidHash", name, err)
			}
			if _, err := b.Get(name); !errors.Is(err, release.ErrInvalidHash) {
				t.Fatalf("Get(%q) = %v, want ErrInvalidHash", name, err)
			}
		}
		// No temporary files are left behind.
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if strings.HasPrefix(d.Name(), ".tmp-") {
				t.Errorf("temporary file left: %s", p)
			}
			return nil
		})
	})

	t.Run("GC", func(t *testing.T) {
		b.Grace = 0
		n, err := b.GC(map[string]bool{sha: true})
		if err != nil || n == 0 {
			t.Fatalf("GC = %d, %v", n, err)
		}
		if !b.Has(sha) {
			t.Fatal("GC removed a kept blob")
		}
		b.Grace = time.Hour
		other, _ := b.Put(context.Background(), []byte("young"))
		if _, err := b.GC(map[string]bool{}); err != nil || !b.Has(other) {
			t.Fatalf("GC removed a young blob: %v", err)
		}
	})
}

func TestStore(t *testing.T) {
	st := mustOpenStore(t)
	ctx := context.Background()
	put := func(s string) orchard.ManifestEntry {
		sha, err := st.Blobs().Put(ctx, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return orchard.ManifestEntry{SHA256: sha, Size: int64(len(s)), ContentType: "text/plain"}
	}
	m1 := &orchard.Manifest{Site: "a.test", Created: time.Unix(1000, 0).UTC(), Files: map[string]orchard.ManifestEntry{"/index.html": put("one")}}
	id1, err := st.SaveManifest(m1)
	if err != nil {
		t.Fatal(err)
	}
	missingSHA := strings.Repeat("0", 64)
	m2 := &orchard.Manifest{Site: "a.test", Created: time.Unix(2000, 0).UTC(), Parent: id1,
		Files: map[string]orchard.ManifestEntry{"/index.html": put("two"), "/x.css": {SHA256: missingSHA, Size: 1, ContentType: "text/css"}}}
	id2, err := st.SaveManifest(m2)
	if err != nil {
		t.Fatal(err)
	}
	rels, err := st.Releases("a.test")
	if err != nil || len(rels) != 2 || rels[0].ID != id2 || rels[1].ID != id1 {
		t.Fatalf("Releases = %+v, %v; want newest first", rels, err)
	}
	if a, _ := st.Active("a.test"); a != "" {
		t.Fatalf("Active before any = %q", a)
	}
	if _, err := st.SetActive("a.test", id2); !errors.Is(err, release.ErrBlobsMissing) {
		t.Fatalf("SetActive with a missing blob: %v, want ErrBlobsMissing", err)
	}
	if _, err := st.SetActive("a.test", id1); err != nil {
		t.Fatal(err)
	}
	if a, _ := st.Active("a.test"); a != id1 {
		t.Fatalf("Active = %q, want %q", a, id1)
	}
	if _, err := st.Manifest("a.test", "0123456789abcdef"); orchard.ErrorCode(err) != orchard.ENOTFOUND {
		t.Fatalf("Manifest of unknown id: %v", err)
	}
	for _, site := range []string{"../a.test", "A.TEST", "a.test/..", ""} {
		if _, err := st.Releases(site); orchard.ErrorCode(err) != orchard.EINVALID {
			t.Fatalf("Releases(%q) = %v, want EINVALID", site, err)
		}
	}
	bad := &orchard.Manifest{Site: "a.test", Files: map[string]orchard.ManifestEntry{"/../x": put("x")}}
	if _, err := st.SaveManifest(bad); orchard.ErrorCode(err) != orchard.EINVALID {
		t.Fatalf("SaveManifest with a bad path: %v", err)
	}
	removed, err := st.Prune("a.test", 0)
	if err != nil || len(removed) != 1 || removed[0] != id2 {
		t.Fatalf("Prune(0) = %v, %v; want only the inactive %s", removed, err, id2)
	}
	st.Blobs().Grace = 0
	if n, err := st.GC(); err != nil || n != 2 { // "two" and "x"
		t.Fatalf("GC = %d, %v; want the blob of the pruned release removed", n, err)
	}
	// A reopened store sees the same state.
	st2 := openStore(t, st.Dir())
	if a, _ := st2.Active("a.test"); a != id1 {
		t.Fatalf("reopened Active = %q, want %q", a, id1)
	}
}

func TestParseSettings(t *testing.T) {
	tests := []struct {
		name, data string
		ok         bool
	}{
		{"OK", `{"host":"a.test","aliases":["b.test"],"cache_control":"public"}`, true},
		{"WrongHost", `{"host":"b.test"}`, false},
		{"BadAlias", `{"host":"a.test","aliases":["../x"]}`, false},
		{"CRLF", `{"host":"a.test","cache_control":"x\r\nSet-Cookie: a"}`, false},
		{"Bad404", `{"host":"a.test","not_found":"/../etc/passwd"}`, false},
		{"Reserved404", `{"host":"a.test","not_found":"/_orchard/site.json"}`, false},
		{"NotJSON", `{`, false},
		{"Redirects", `{"host":"a.test","redirects":[{"from":"/a/","to":"/b/"},{"from":"/c.html","to":"https://x.test/"}]}`, true},
		{"RedirectCRLF", `{"host":"a.test","redirects":[{"from":"/a/","to":"/b/\r\nSet-Cookie: a"}]}`, false},
		{"RedirectFromURL", `{"host":"a.test","redirects":[{"from":"http://x.test/a/","to":"/b/"}]}`, false},
		{"RedirectNotClean", `{"host":"a.test","redirects":[{"from":"/a//b/","to":"/b/"}]}`, false},
		{"RedirectsOutOfOrder", `{"host":"a.test","redirects":[{"from":"/c/","to":"/b/"},{"from":"/a/","to":"/b/"}]}`, false},
		{"RedirectTwice", `{"host":"a.test","redirects":[{"from":"/a/","to":"/b/"},{"from":"/a/","to":"/c/"}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := release.ParseSettings("a.test", []byte(tt.data))
			if (err == nil) != tt.ok {
				t.Fatalf("ParseSettings = %+v, %v; want ok=%v", s, err, tt.ok)
			}
		})
	}
}

// TestCollect: Collect prunes each site with more releases than it keeps
// (never the active one), leaves the others as they are, and removes the
// blobs no remaining manifest names, reading manifests stored in the
// binary encoding and as JSON (older stores) alike.
func TestCollect(t *testing.T) {
	st := mustOpenStore(t)
	st.Blobs().Grace = 0
	ctx := context.Background()
	put := func(s string) orchard.ManifestEntry {
		t.Helper()
		sha, err := st.Blobs().Put(ctx, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return orchard.ManifestEntry{SHA256: sha, Size: int64(len(s)), ContentType: "text/plain"}
	}
	shared := put("shared")
	var ids []string
	var own []string
	for v := range 4 {
		e := put(fmt.Sprintf("page of release %d", v))
		own = append(own, e.SHA256)
		m := &orchard.Manifest{Site: "a.test", Created: time.Unix(int64(1000*(v+1)), 0).UTC(),
			Files: map[string]orchard.ManifestEntry{"/index.html": e, "/style.css": shared}}
		id, err := st.SaveManifest(m)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := st.SetActive("a.test", ids[1]); err != nil { // rolled back to the second
		t.Fatal(err)
	}
	// b.test: one release stored as JSON, as a store written before the
	// binary encoding holds it.
	jm := &orchard.Manifest{Site: "b.test", Created: time.Unix(1000, 0).UTC(),
		Files: map[string]orchard.ManifestEntry{"/index.html": put("json page"), "/a.html": put("json gzip source")}}
	e := jm.Files["/a.html"]
	e.Gzip, e.GzipSize = put("json gzip variant").SHA256, 17
	jm.Files["/a.html"] = e
	data, err := json.Marshal(jm)
	if err != nil {
		t.Fatal(err)
	}
	rels := filepath.Join(st.Dir(), "sites", "b.test", "releases")
	if err := os.MkdirAll(rels, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rels, jm.ID()+".json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	orphan := put("orphan").SHA256

	n, err := st.Collect(2)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("Collect removed %d blobs, want 2 (the first release's page and the orphan)", n)
	}
	left, err := st.Releases("a.test")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range left {
		got = append(got, r.ID)
	}
	if want := []string{ids[3], ids[2], ids[1]}; !slices.Equal(got, want) {
		t.Errorf("a.test keeps %v, want the two newest and the active %v", got, want)
	}
	if r, err := st.Releases("b.test"); err != nil || len(r) != 1 {
		t.Errorf("b.test keeps %d releases (%v), want its one", len(r), err)
	}
	for _, sha := range []string{shared.SHA256, own[1], own[2], own[3], jm.Files["/index.html"].SHA256, e.SHA256, e.Gzip} {
		if !st.Blobs().Has(sha) {
			t.Errorf("blob %s of a kept release was removed", sha)
		}
	}
	for _, sha := range []string{own[0], orphan} {
		if st.Blobs().Has(sha) {
			t.Errorf("blob %s that no kept release names is still stored", sha)
		}
	}
}

// TestPruneOver: a site with no more releases than kept is left as it is,
// one with more is pruned as Prune does.
func TestPruneOver(t *testing.T) {
	st := mustOpenStore(t)
	ctx := context.Background()
	var ids []string
	for v := range 3 {
		body := fmt.Sprintf("release %d", v)
		sha, err := st.Blobs().Put(ctx, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		id, err := st.SaveManifest(&orchard.Manifest{Site: "a.test", Created: time.Unix(int64(1000*(v+1)), 0).UTC(),
			Files: map[string]orchard.ManifestEntry{"/index.html": {SHA256: sha, Size: int64(len(body)), ContentType: "text/html"}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if removed, err := st.PruneOver("a.test", 3); err != nil || len(removed) != 0 {
		t.Errorf("PruneOver(keep 3) of 3 releases = %v, %v; want nothing removed", removed, err)
	}
	if removed, err := st.PruneOver("none.test", 1); err != nil || len(removed) != 0 {
		t.Errorf("PruneOver of a site without releases = %v, %v", removed, err)
	}
	removed, err := st.PruneOver("a.test", 1)
	if err != nil || !slices.Equal(removed, []string{ids[1], ids[0]}) {
		t.Errorf("PruneOver(keep 1) = %v, %v; want the two oldest %v", removed, err, []string{ids[1], ids[0]})
	}
}
