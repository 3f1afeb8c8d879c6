package node

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
)

func TestRequestMetrics(t *testing.T) {
	n := New(Config{Name: "n1"})
	for _, st := range []int{200, 200, 304, 404, 503, 999} {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("GET")
		ctx.Response.SetStatusCode(st)
		ctx.Response.SetBody([]byte("hello"))
		n.metrics.observe(&ctx, nil)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(n.Collector())
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`orchard_http_requests_total{class="2xx",role="node"} 2`,
		`orchard_http_requests_total{class="3xx",role="node"} 1`,
		`orchard_http_requests_total{class="5xx",role="node"} 1`,
		`orchard_http_requests_total{class="other",role="node"} 1`,
		`orchard_http_request_duration_seconds_count{role="node"} 6`,
		`orchard_http_response_bytes_total{role="node"} 30`,
		`orchard_node_cache_max_bytes 1.34217728e+08`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	var m requestMetrics
	var ctx fasthttp.RequestCtx
	ctx.Response.SetStatusCode(200)
	ctx.Response.SetBody([]byte("hello"))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.observe(&ctx, nil)
		}
	})
}

// BenchmarkObserve_Conns: each goroutine serves its own connection, as the
// server does, so the requests land on different shards.
func BenchmarkObserve_Conns(b *testing.B) {
	var m requestMetrics
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		ctx.Init2(nil, nil, false)
		ctx.Response.SetStatusCode(200)
		ctx.Response.SetBody([]byte("hello"))
		for pb.Next() {
			m.observe(&ctx, nil)
		}
	})
}
