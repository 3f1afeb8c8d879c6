package release_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
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
