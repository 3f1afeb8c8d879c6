package balancer_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orchardhq/orchard"
)

// pageBackend is a fast member for benchmarks: a fasthttp server that
// answers every request with the same 8.7 KB page (the size of
// bench/peers/balancer-vs-haproxy.sh's), as nginx does there, and a
// control server with orchard.HealthPath.
type pageBackend struct {
	name string
	srv  *fasthttp.Server
	ctl  *http.Server
	ln   net.Listener
	cln  net.Listener
}

const benchRelease = "0123456789abcdef"

func newPageBackend(tb testing.TB, name string) *pageBackend {
	tb.Helper()
	page := bytes.Repeat([]byte("<p>orchard benchmark paragraph: hosts many small websites.</p>\n"), 8700/64)
	pb := &pageBackend{name: name}
	var err error
	if pb.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	if pb.cln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	pb.srv = &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Content-Type", "text/html")
		ctx.Response.Header.Set(orchard.ReleaseHeader, benchRelease)
		ctx.Response.Header.Set("Cache-Control", "public, max-age=60")
		ctx.Response.Header.Set("ETag", `"5f2a-1b2c"`)
		ctx.Response.Header.Set("Last-Modified", "Sat, 05 Dec 2026 10:00:00 GMT")
		ctx.Response.Header.Set("Accept-Ranges", "bytes")
		ctx.Response.SetBodyRaw(page)
	}}
	pb.ctl = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(orchard.Health{OK: true, Role: "node", Name: name,
			Releases: map[string]string{siteHost: benchRelease}})
	})}
	go pb.srv.Serve(pb.ln)
	go pb.ctl.Serve(pb.cln)
	tb.Cleanup(func() {
		pb.srv.Shutdown()
		pb.ctl.Close()
	})
	return pb
}

func (pb *pageBackend) member() orchard.Member {
	return orchard.Member{Name: pb.name, Addr: pb.ln.Addr().String(), HealthAddr: pb.cln.Addr().String(), Weight: 1}
}

// BenchmarkProxy sends GETs through a balancer in front of three members
// over real loopback connections (64 keep-alive client connections, like
// the peer benchmark's wrk -c64): the pass-through path, and the edge
// cache's hit path.
func BenchmarkProxy(b *testing.B) {
	for _, bc := range []struct {
		name  string
		cache int64
	}{
		{"PassThrough", -1},
		{"Cache", 64 << 20},
	} {
		b.Run(bc.name, func(b *testing.B) {
			o := onePool("", newPageBackend(b, "n0").member(), newPageBackend(b, "n1").member(), newPageBackend(b, "n2").member())
			o.CacheBytes = bc.cache
			bal := mustOpen(b, o)
			c := &fasthttp.HostClient{Addr: bal.Addr(), MaxConns: 1024}
			do := func(req *fasthttp.Request, resp *fasthttp.Response) {
				if err := c.Do(req, resp); err != nil {
					b.Fatal(err)
				}
				if resp.StatusCode() != 200 || len(resp.Body()) < 8000 {
					b.Fatalf("got status %d, %d bytes; want 200 and the page", resp.StatusCode(), len(resp.Body()))
				}
			}
			var warm fasthttp.Request
			warm.SetRequestURI("/")
			warm.SetHost(siteHost)
			do(&warm, &fasthttp.Response{}) // fills the cache
			b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var req fasthttp.Request
				var resp fasthttp.Response
				req.SetRequestURI("/")
				req.SetHost(siteHost)
				for pb.Next() {
					do(&req, &resp)
				}
			})
		})
	}
}
