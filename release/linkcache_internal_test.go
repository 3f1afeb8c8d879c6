package release

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	orchard "github.com/orchardhq/orchard"
)

// linkSite is a manifest of HTML pages over an in-memory blob map, with a
// get that counts the blobs read.
type linkSite struct {
	m     *orchard.Manifest
	blobs map[string][]byte
	reads atomic.Int32
}

func newLinkSite() *linkSite {
	return &linkSite{m: &orchard.Manifest{Site: "a.test", Files: map[string]orchard.ManifestEntry{}}, blobs: map[string][]byte{}}
}

func (s *linkSite) page(key, body string) {
	sum := sha256.Sum256([]byte(body))
	sha := hex.EncodeToString(sum[:])
	s.blobs[sha] = []byte(body)
	s.m.Files[key] = orchard.ManifestEntry{SHA256: sha, Size: int64(len(body)), ContentType: "text/html; charset=utf-8"}
}

func (s *linkSite) get(sha string) ([]byte, error) {
	s.reads.Add(1)
	b, ok := s.blobs[sha]
	if !ok {
		return nil, fmt.Errorf("no blob %s", sha)
	}
	return b, nil
}

// TestLinkCache: a check through a LinkCache finds what a check without
// one finds, and after an edit reads only the page that changed, while
// links of the unchanged pages are still checked against the new release
// (a page removed breaks the links to it).
func TestLinkCache(t *testing.T) {
	s := newLinkSite()
	s.page("/index.html", `<a href="/news/">news</a><a href="/about/">about</a><a href="/gone/">gone</a>`)
	s.page("/news/index.html", `<a href="../">home</a><a href="/about/">about</a>`)
	s.page("/about/index.html", `<a href="/">home</a>`)
	var c LinkCache
	check := func(what string, wantReads int32) []BrokenLink {
		t.Helper()
		s.reads.Store(0)
		got, err := checkLinks(s.m, s.get, 0, &c)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if r := s.reads.Load(); r != wantReads {
			t.Errorf("%s: read %d pages, want %d", what, r, wantReads)
		}
		want, err := checkLinks(s.m, s.get, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: through the cache %v, without %v", what, got, want)
		}
		return got
	}
	if got := check("first check", 3); len(got) != 1 || got[0] != (BrokenLink{"/index.html", "/gone/"}) {
		t.Errorf("first check: %v, want the link to /gone/", got)
	}
	check("same release again", 0)
	s.page("/news/index.html", `<a href="../">home</a><a href="/missing/">missing</a>`)
	delete(s.m.Files, "/about/index.html")
	got := check("after an edit", 1)
	want := []BrokenLink{{"/index.html", "/about/"}, {"/index.html", "/gone/"}, {"/news/index.html", "/missing/"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after an edit: %v, want %v", got, want)
	}
}

// TestLinkCacheConcurrent: checks of two sites through one cache at once
// (run with -race).
func TestLinkCacheConcurrent(t *testing.T) {
	var c LinkCache
	var wg sync.WaitGroup
	for i := range 8 {
		s := newLinkSite()
		s.m.Site = fmt.Sprintf("s%d.test", i%2)
		s.page("/index.html", `<a href="/x/">x</a>`)
		wg.Go(func() {
			got, err := checkLinks(s.m, s.get, 0, &c)
			if err != nil || len(got) != 1 {
				t.Errorf("check %d: %v, %v; want one broken link", i, got, err)
			}
		})
	}
	wg.Wait()
}

// TestLinkCacheBound: the cache starts over rather than grow past
// maxLinkCacheBytes.
func TestLinkCacheBound(t *testing.T) {
	var c LinkCache
	big := []string{strings.Repeat("x", maxLinkCacheBytes/3)}
	for i := range 5 {
		c.put(linkSource{sha: fmt.Sprint(i), key: "/index.html", site: "a.test"}, big)
		if c.bytes > maxLinkCacheBytes {
			t.Fatalf("after %d pages the cache holds %d bytes, bound %d", i+1, c.bytes, maxLinkCacheBytes)
		}
	}
	if n := len(c.links); n == 0 || n > 3 {
		t.Errorf("%d pages held, want 1 to 3", n)
	}
}
