package balancer

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orchardhq/orchard"
)

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pat, path string
		want      bool
	}{
		{"/admin/*", "/admin/", true},
		{"/admin/*", "/admin", true},
		{"/admin/*", "/admin/x/y", true},
		{"/admin/*", "/ADMIN/X", true},
		{"/admin/*", "/administrator", false},
		{"/admin/*", "/x/admin/", false},
		{"/*.php", "/a/b.php", true},
		{"/*.php", "/a/b.phps", false},
		{"/a*b*c", "/aXbYc", true},
		{"/a*b*c", "/aXbY", false},
		{"/exact", "/exact", true},
		{"/exact", "/exact/", false},
	}
	for _, tt := range tests {
		if got := matchPattern(tt.pat, []byte(tt.path)); got != tt.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", tt.pat, tt.path, got, tt.want)
		}
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n",
		"GET http://a.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n",
		"GET /a//b/../c%2f HTTP/1.1\r\nHost: A.TEST:80\r\n\r\n",
		"GET /%5f_orchard/ HTTP/1.1\r\nHost: [::1]\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var req fasthttp.Request
		if err := req.Read(bufioReader(raw)); err != nil {
			return
		}
		tg, rej := parseTarget(&req)
		if rej != nil {
			return
		}
		// What is accepted is canonical, and so is what is forwarded.
		clean, err := orchard.CleanRequestPath(string(tg.path))
		if err != nil || clean != string(tg.path) {
			t.Fatalf("accepted path %q is not canonical (%q, %v)", tg.path, clean, err)
		}
		uri := req.Header.RequestURI()
		if i := bytes.IndexByte(uri, '?'); i >= 0 {
			uri = uri[:i]
		}
		fwd, err := orchard.CleanRequestPath(string(uri))
		if err != nil || fwd != string(tg.path) {
			t.Fatalf("forwarded %q means %q (%v), checked %q", uri, fwd, err, tg.path)
		}
		if len(tg.host) == 0 || bytes.ContainsAny(tg.host, " /\\@") {
			t.Fatalf("host %q", tg.host)
		}
	})
}

func FuzzMatchPattern(f *testing.F) {
	f.Add("/admin/*", "/admin/x")
	f.Add("/*a*b*", "/xaybz")
	f.Fuzz(func(t *testing.T, pat, path string) {
		if len(pat) > 64 || len(path) > 256 {
			return
		}
		matchPattern(strings.ToLower(pat), []byte(path))
	})
}

// TestHotPathAllocs checks that a proxied request and a cache hit
// allocate nothing in the balancer (fasthttp's own pools aside).
func TestHotPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes values escape")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), 8700)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set(orchard.ReleaseHeader, "0123456789abcdef")
		ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
		ctx.Response.Header.Set("Connection", "keep-alive") // as nginx sends it
		ctx.SetBody(body)
	}}
	go srv.Serve(ln)
	defer srv.Shutdown()
	for _, cache := range []int64{0, 1 << 20} {
		b := New(Options{
			Pools:      []Pool{{Name: "web", Members: []orchard.Member{{Name: "n0", Addr: ln.Addr().String(), Weight: 1}}}},
			VHosts:     []VHost{{Hosts: []string{"*"}, Pool: "web", Deny: []string{"/admin/*"}}},
			CacheBytes: cache,
		})
		if err := b.Listen(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Make the site known, as a health check would.
		b.mu.Lock()
		for _, m := range b.members {
			b.mu.Unlock()
			b.setHealthReleases(m, &orchard.Health{Releases: map[string]string{"a.test": "0123456789abcdef"}}, time.Now().UnixNano())
			b.mu.Lock()
		}
		b.mu.Unlock()
		var req fasthttp.Request
		req.Header.SetMethod(http.MethodGet)
		req.SetRequestURI("/page")
		req.Header.SetHost("a.test")
		req.Header.Set("User-Agent", "test")
		var ctx fasthttp.RequestCtx
		run := func() {
			ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234}, nil)
			b.handle(&ctx, false)
			if ctx.Response.StatusCode() != 200 || len(ctx.Response.Body()) != len(body) {
				t.Fatalf("status %d, %d bytes", ctx.Response.StatusCode(), len(ctx.Response.Body()))
			}
		}
		run()
		run()
		base := testing.AllocsPerRun(200, func() {
			ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234}, nil)
		})
		if n := testing.AllocsPerRun(200, run) - base; n > 0 {
			t.Errorf("cache %d: %.1f allocations per request, want 0", cache, n)
		}
		b.Close()
	}
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
