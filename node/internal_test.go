package node

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

// testSite builds the serving state of a manifest with the given keys.
func testSiteState(tb testing.TB, keys ...string) *site {
	tb.Helper()
	m := &orchard.Manifest{Site: "a.test", Created: time.Unix(1e9, 0), Files: map[string]orchard.ManifestEntry{}}
	for _, k := range keys {
		m.Files[k] = orchard.ManifestEntry{SHA256: strings.Repeat("a", 64), Size: 1, ContentType: "text/html"}
	}
	s, err := newSite(m, m.ID(), &release.Settings{Host: "a.test", CacheControl: "public", NotFound: "/404.html"},
		func(sha string) (*blob, error) { return testBlob(tb, sha, 1), nil })
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// reference is the mapping the node must implement, written plainly:
// clean, look up the manifest key, else redirect to the directory form.
func reference(files map[string]bool, raw string) (key string, redirect, found, bad bool) {
	clean, err := orchard.CleanRequestPath(raw)
	if err != nil {
		return "", false, false, true
	}
	k := orchard.ManifestKey(clean)
	if files[k] && !release.IsReserved(k) {
		return k, false, true, false
	}
	if !strings.HasSuffix(clean, "/") && files[orchard.ManifestKey(clean+"/")] {
		return "", true, true, false
	}
	return "", false, false, false
}

var fuzzKeys = []string{"/index.html", "/a/index.html", "/a/b/index.html", "/a", "/b.css", "/c/index.html", "/c", "/_orchard/site.json", "/x.y/index.html", "/404.html"}

// FuzzLookup checks the node's request path -> route mapping (fast path
// included) against the plain reference.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{"/", "/a", "/a/", "/a/b", "/a/b/", "/c", "/b.css?x", "/%61/", "//a/./b/", "/a/../", "/%2e%2e/", "/_orchard/site.json", "/x.y", "/a%2fb", "/A/", "/a#x"} {
		f.Add(s)
	}
	s := testSiteState(f, fuzzKeys...)
	files := map[string]bool{}
	for _, k := range fuzzKeys {
		files[k] = true
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r, clean, found, bad := s.lookup([]byte(raw))
		wkey, wredir, wfound, wbad := reference(files, raw)
		if bad != wbad || found != wfound || (found && r.redirect != wredir) {
			t.Fatalf("lookup(%q) = found %v redirect %v bad %v; reference found %v redirect %v bad %v", raw, found, r.redirect, bad, wfound, wredir, wbad)
		}
		if found && !r.redirect && r.e != s.file([]byte(wkey)) {
			t.Fatalf("lookup(%q) serves another entry than %s", raw, wkey)
		}
		if found && r.redirect && files[orchard.ManifestKey(clean+"/")] == false {
			t.Fatalf("lookup(%q) redirects to %q/ which does not exist", raw, clean)
		}
	})
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in           string
		start, end   int64
		ok, unsatisf bool
	}{
		{"bytes=0-9", 0, 9, true, false},
		{"bytes=5-", 5, 99, true, false},
		{"bytes=-10", 90, 99, true, false},
		{"bytes=-1000", 0, 99, true, false},
		{"bytes=90-200", 90, 99, true, false},
		{"bytes=100-", 0, 0, false, true},
		{"bytes=-0", 0, 0, false, true},
		{"bytes=5-1", 0, 0, false, false},
		{"bytes=0-1,3-4", 0, 0, false, false},
		{"items=0-1", 0, 0, false, false},
		{"bytes=a-b", 0, 0, false, false},
		{"bytes=99999999999999999999-", 0, 0, false, false},
	}
	for _, tt := range tests {
		s, e, ok, u := parseRange([]byte(tt.in), 100)
		if s != tt.start || e != tt.end || ok != tt.ok || u != tt.unsatisf {
			t.Errorf("parseRange(%q) = %d %d %v %v, want %d %d %v %v", tt.in, s, e, ok, u, tt.start, tt.end, tt.ok, tt.unsatisf)
		}
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=-5", "bytes=7-", "bytes=1-0", "bytes= 1 - 2 "} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			return
		}
		s, e, ok, _ := parseRange([]byte(h), size)
		if ok && (s < 0 || e < s || e >= size) {
			t.Fatalf("parseRange(%q, %d) = %d-%d: outside the body", h, size, s, e)
		}
	})
}

// TestServe_NoAllocs: serving a hot page (gzip negotiated) allocates nothing.
func TestServe_NoAllocs(t *testing.T) {
	n := New(Config{Dir: t.TempDir()})
	if err := n.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	st := n.Store()
	res, err := (&release.Builder{Store: st}).Build(context.Background(), &orchard.Site{Host: "a.test"}, onePage(strings.Repeat("<p>orchard</p>", 600)))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Activate("a.test", res.Manifest.ID(), res.Manifest, nil); err != nil {
		t.Fatal(err)
	}
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.Header.SetRequestURI("/news/hello/")
	ctx.Request.Header.SetHost("a.test")
	ctx.Request.Header.Set("Accept-Encoding", "gzip, deflate, br")
	n.serve(&ctx) // warm the cache
	if ctx.Response.StatusCode() != 200 || len(ctx.Response.Header.Peek("Content-Encoding")) == 0 {
		t.Fatalf("warm-up: %d %q", ctx.Response.StatusCode(), ctx.Response.Header.Peek("Content-Encoding"))
	}
	allocs := testing.AllocsPerRun(200, func() {
		ctx.Response.Reset()
		n.serve(&ctx)
	})
	if allocs != 0 {
		t.Fatalf("hot request allocates %.1f times, want 0", allocs)
	}
}

type onePage string

func (p onePage) Outputs() []release.Output {
	return []release.Output{{Path: "/news/hello/", ContentType: "text/html; charset=utf-8", Deps: []string{"p"}}}
}
func (p onePage) Render(string) ([]byte, error) { return []byte(p), nil }
func (p onePage) Inputs() map[string]string     { return map[string]string{"p": string(p)} }

func BenchmarkServe(b *testing.B) {
	n := New(Config{Dir: b.TempDir()})
	if err := n.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	res, err := (&release.Builder{Store: n.Store()}).Build(context.Background(), &orchard.Site{Host: "a.test"}, onePage(strings.Repeat("<p>orchard</p>", 600)))
	if err != nil {
		b.Fatal(err)
	}
	if err := n.Activate("a.test", res.Manifest.ID(), res.Manifest, nil); err != nil {
		b.Fatal(err)
	}
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.Header.SetRequestURI("/news/hello/")
	ctx.Request.Header.SetHost("a.test")
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		n.serve(&ctx)
	}
}
