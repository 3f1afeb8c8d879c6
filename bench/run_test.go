package bench_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orchardhq/orchard/bench"
)

// target is a test server whose behaviour depends on the path:
// /ok 200, /missing 404, /error 503, /slow blocks until released or the
// client goes away, /delay sleeps 50ms, /close drops the connection without
// answering, /chunked streams a chunked body, /echo answers the request's
// Host, a header and body.
type target struct {
	*httptest.Server
	requests atomic.Int64
	conns    atomic.Int64
	release  chan struct{}
	mu       sync.Mutex
	seen     []string
}

const okBody = "hello, orchard\n"

func newTarget(t *testing.T) *target {
	t.Helper()
	tg := &target{release: make(chan struct{})}
	tg.Server = httptest.NewUnstartedServer(http.HandlerFunc(tg.serve))
	tg.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			tg.conns.Add(1)
		}
	}
	tg.Start()
	t.Cleanup(func() {
		close(tg.release)
		tg.Close()
	})
	return tg
}

func (tg *target) serve(w http.ResponseWriter, r *http.Request) {
	tg.requests.Add(1)
	switch r.URL.Path {
	case "/ok":
		io.WriteString(w, okBody)
	case "/missing":
		http.Error(w, "no such page", http.StatusNotFound)
	case "/error":
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	case "/slow":
		select {
		case <-tg.release:
		case <-r.Context().Done():
		}
	case "/delay":
		time.Sleep(50 * time.Millisecond)
		io.WriteString(w, okBody)
	case "/close":
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close()
		}
	case "/oneshot":
		// A whole response, then the connection is closed without a
		// "Connection: close" header, as a server's idle timeout does.
		c, bw, err := http.NewResponseController(w).Hijack()
		if err == nil {
			fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(okBody), okBody)
			bw.Flush()
			c.Close()
		}
	case "/connclose":
		w.Header().Set("Connection", "close")
		io.WriteString(w, okBody)
	case "/chunked":
		for i := 0; i < 3; i++ {
			io.WriteString(w, okBody)
			http.NewResponseController(w).Flush()
		}
	case "/echo":
		body, _ := io.ReadAll(r.Body)
		tg.mu.Lock()
		tg.seen = append(tg.seen, fmt.Sprintf("%s %s host=%s x=%s body=%s", r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("X-Test"), body))
		tg.mu.Unlock()
		io.WriteString(w, okBody)
	default:
		http.NotFound(w, r)
	}
}

func (tg *target) urls(paths ...string) []bench.Target {
	var out []bench.Target
	for _, p := range paths {
		out = append(out, bench.Target{URL: tg.URL + p})
	}
	return out
}

func mustRun(t *testing.T, ctx context.Context, cfg bench.Config) *bench.Result {
	t.Helper()
	r, err := bench.Run(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return r
}

// want is the subset of a Result a test checks exactly.
type want struct {
	transactions, successful, failed, bytes int64
	availability                            string
	status                                  map[int]int64
	errs                                    bench.Errors
}

func check(t *testing.T, r *bench.Result, w want) {
	t.Helper()
	if r.Transactions != w.transactions {
		t.Errorf("Transactions = %d, want %d", r.Transactions, w.transactions)
	}
	if r.Successful != w.successful {
		t.Errorf("Successful = %d, want %d", r.Successful, w.successful)
	}
	if r.Failed != w.failed {
		t.Errorf("Failed = %d, want %d", r.Failed, w.failed)
	}
	if w.bytes >= 0 && r.Bytes != w.bytes {
		t.Errorf("Bytes = %d, want %d", r.Bytes, w.bytes)
	}
	if got := fmt.Sprintf("%.2f", r.Availability()); got != w.availability {
		t.Errorf("Availability = %s, want %s", got, w.availability)
	}
	if fmt.Sprint(r.Status) != fmt.Sprint(w.status) {
		t.Errorf("Status = %v, want %v", r.Status, w.status)
	}
	if r.Errors != w.errs {
		t.Errorf("Errors = %+v, want %+v", r.Errors, w.errs)
	}
}

func TestRunCounts(t *testing.T) {
	tg := newTarget(t)
	ctx := context.Background()
	n := int64(len(okBody))

	t.Run("OK", func(t *testing.T) {
		r := mustRun(t, ctx, bench.Config{URLs: tg.urls("/ok"), Concurrency: 5, Reps: 10})
		check(t, r, want{transactions: 50, successful: 50, bytes: 50 * n, availability: "100.00",
			status: map[int]int64{200: 50}})
		if r.Responses != 50 || r.Interrupted {
			t.Errorf("Responses = %d, Interrupted = %v; want 50, false", r.Responses, r.Interrupted)
		}
	})
	t.Run("KnownShareFails", func(t *testing.T) {
		// Each user walks the list from its own offset, so each URL gets
		// exactly a third of 3 users x 30 requests.
		r := mustRun(t, ctx, bench.Config{URLs: tg.urls("/ok", "/missing", "/error"), Concurrency: 3, Reps: 30})
		// siege: 404 is a transaction but not a success; 503 is a failure.
		check(t, r, want{transactions: 60, successful: 30, failed: 30, bytes: -1, availability: "66.67",
			status: map[int]int64{200: 30, 404: 30, 503: 30}, errs: bench.Errors{Status: 60}})
	})
	t.Run("Chunked", func(t *testing.T) {
		r := mustRun(t, ctx, bench.Config{URLs: tg.urls("/chunked"), Concurrency: 2, Reps: 5})
		check(t, r, want{transactions: 10, successful: 10, bytes: 10 * 3 * n, availability: "100.00",
			status: map[int]int64{200: 10}})
	})
	t.Run("ServerClosesConnections", func(t *testing.T) {
		// User 0: ok close ok close ok; user 1: close ok close ok close.
		r := mustRun(t, ctx, bench.Config{URLs: tg.urls("/ok", "/close"), Concurrency: 2, Reps: 5})
		check(t, r, want{transactions: 5, successful: 5, failed: 5, bytes: 5 * n, availability: "50.00",
			status: map[int]int64{200: 5}, errs: bench.Errors{Reset: 5}})
	})
	t.Run("ConnectionClose", func(t *testing.T) {
		before := tg.conns.Load()
		r := mustRun(t, ctx, bench.Config{URLs: tg.urls("/connclose"), Concurrency: 2, Reps: 6})
		check(t, r, want{transactions: 12, successful: 12, bytes: 12 * n, availability: "100.00",
			status: map[int]int64{200: 12}})
		if got := tg.conns.Load() - before; got != 12 {
			t.Errorf("server saw %d connections, want 12 (one per response with Connection: close)", got)
		}
	})
	t.Run("StaleKeepAliveRetried", func(t *testing.T) {
		// The next request on such a connection fails before any byte of a
		// response arrives: it is retried once on a new connection.
		r := mustRun(t, ctx, bench.Config{URLs: tg.urls("/oneshot"), Concurrency: 2, Reps: 5})
		check(t, r, want{transactions: 10, successful: 10, bytes: 10 * n, availability: "100.00",
			status: map[int]int64{200: 10}})
	})
	t.Run("Timeout", func(t *testing.T) {
		r := mustRun(t, ctx, bench.Config{URLs: tg.urls("/slow"), Concurrency: 2, Reps: 2, Timeout: 100 * time.Millisecond})
		check(t, r, want{failed: 4, availability: "0.00", status: map[int]int64{}, errs: bench.Errors{Timeout: 4}})
	})
	t.Run("Refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		r := mustRun(t, ctx, bench.Config{URLs: []bench.Target{{URL: "http://" + addr + "/"}}, Concurrency: 3, Reps: 4})
		check(t, r, want{failed: 12, availability: "0.00", status: map[int]int64{}, errs: bench.Errors{Refused: 12}})
		if len(r.FirstErrors) != 1 || !strings.Contains(r.FirstErrors[0], "refused") {
			t.Errorf("FirstErrors = %q, want one 'connection refused'", r.FirstErrors)
		}
	})
}

func TestRunKeepAlive(t *testing.T) {
	tests := []struct {
		name      string
		noKeep    bool
		wantConns int64
	}{
		{"KeepAlive", false, 3},
		{"NoKeepAlive", true, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := newTarget(t)
			r := mustRun(t, context.Background(), bench.Config{URLs: tg.urls("/ok"), Concurrency: 3, Reps: 10, NoKeepAlive: tt.noKeep})
			if r.Successful != 30 {
				t.Errorf("Successful = %d, want 30", r.Successful)
			}
			if got := tg.conns.Load(); got != tt.wantConns {
				t.Errorf("server saw %d connections, want %d", got, tt.wantConns)
			}
		})
	}
}

func TestRunRequestShape(t *testing.T) {
	tg := newTarget(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "urls.txt")
	os.WriteFile(filepath.Join(dir, "body.txt"), []byte("from-file"), 0o600)
	os.WriteFile(file, []byte(fmt.Sprintf("# two requests\nBASE=%s\n$(BASE)/echo?a=1\n${BASE}/echo POST name=pear\n$(BASE)/echo PUT <body.txt\n", tg.URL)), 0o600)
	targets, err := bench.ReadURLFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, context.Background(), bench.Config{
		URLs: targets, Concurrency: 1, Reps: 3,
		Headers: []bench.Header{{Name: "Host", Value: "alpha.example"}, {Name: "X-Test", Value: "yes"}},
	})
	if r.Successful != 3 {
		t.Fatalf("Successful = %d, want 3; errors %v", r.Successful, r.FirstErrors)
	}
	want := []string{
		"GET /echo?a=1 host=alpha.example x=yes body=",
		"POST /echo host=alpha.example x=yes body=name=pear",
		"PUT /echo host=alpha.example x=yes body=from-file",
	}
	if got := strings.Join(tg.seen, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("server saw\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}

func TestRunRandom(t *testing.T) {
	tg := newTarget(t)
	r := mustRun(t, context.Background(), bench.Config{URLs: tg.urls("/ok", "/missing"), Concurrency: 1, Reps: 200, Random: true})
	if r.Status[200] == 0 || r.Status[404] == 0 || r.Status[200]+r.Status[404] != 200 {
		t.Errorf("Status = %v, want both URLs among 200 random picks", r.Status)
	}
}

func TestRunDelayedServer(t *testing.T) {
	tg := newTarget(t)
	r := mustRun(t, context.Background(), bench.Config{URLs: tg.urls("/delay"), Concurrency: 2, Reps: 3})
	if r.Successful != 6 {
		t.Fatalf("Successful = %d, want 6", r.Successful)
	}
	// The server sleeps 50ms, so no response can be faster.
	for name, d := range map[string]time.Duration{"Shortest": r.Shortest, "p50": r.Latency.P50, "ResponseTime": r.ResponseTime()} {
		if d < 50*time.Millisecond {
			t.Errorf("%s = %v, want at least the server's 50ms", name, d)
		}
	}
	if r.Longest < r.Shortest || r.Latency.P999 < r.Latency.P50 {
		t.Errorf("Longest %v < Shortest %v or p99.9 %v < p50 %v", r.Longest, r.Shortest, r.Latency.P999, r.Latency.P50)
	}
}

func TestRunDurationStops(t *testing.T) {
	tg := newTarget(t)
	d := 300 * time.Millisecond
	var calls atomic.Int64
	r, err := bench.Run(context.Background(), bench.Config{
		URLs: tg.urls("/ok"), Concurrency: 4, Duration: d, ProgressInterval: 10 * time.Millisecond,
	}, func(bench.Snapshot) { calls.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	if r.Elapsed != d {
		t.Errorf("Elapsed = %v, want exactly the duration %v (not earlier)", r.Elapsed, d)
	}
	if r.Transactions == 0 || r.Failed != 0 || r.Interrupted {
		t.Errorf("Transactions %d, Failed %d, Interrupted %v; want >0, 0, false", r.Transactions, r.Failed, r.Interrupted)
	}
	if calls.Load() == 0 {
		t.Error("progress was never called")
	}
	n := calls.Load()
	// Run returned: progress must not be called any more.
	if r2 := mustRun(t, context.Background(), bench.Config{URLs: tg.urls("/ok"), Concurrency: 1, Reps: 1}); r2.Successful != 1 || calls.Load() != n {
		t.Errorf("progress called after Run returned")
	}
}

func TestRunDurationCutsSlowRequests(t *testing.T) {
	tg := newTarget(t)
	// Requests that are still waiting when time is up are not failures.
	r := mustRun(t, context.Background(), bench.Config{URLs: tg.urls("/slow"), Concurrency: 3, Duration: 100 * time.Millisecond})
	check(t, r, want{availability: "0.00", status: map[int]int64{}})
	if r.Elapsed != 100*time.Millisecond {
		t.Errorf("Elapsed = %v, want 100ms", r.Elapsed)
	}
}

func TestRunCancel(t *testing.T) {
	tg := newTarget(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := bench.Run(ctx, bench.Config{URLs: tg.urls("/ok", "/slow"), Concurrency: 4, ProgressInterval: 5 * time.Millisecond},
		func(s bench.Snapshot) {
			if s.Transactions > 0 {
				cancel() // like Ctrl-C once something was measured
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Interrupted || r.Transactions == 0 {
		t.Errorf("Interrupted %v, Transactions %d: want the summary so far", r.Interrupted, r.Transactions)
	}
	if r.Failed != 0 {
		t.Errorf("Failed = %d: requests cut off by Ctrl-C must not count as failures", r.Failed)
	}
	var b strings.Builder
	r.WriteSiege(&b)
	if !strings.Contains(b.String(), "interrupted") || !strings.Contains(b.String(), "Transactions:") {
		t.Errorf("summary after cancel:\n%s", b.String())
	}
}

func TestRunRate(t *testing.T) {
	tg := newTarget(t)
	t.Run("Count", func(t *testing.T) {
		r := mustRun(t, context.Background(), bench.Config{URLs: tg.urls("/ok"), Concurrency: 2, Reps: 10, Rate: 200})
		if r.Successful != 20 {
			t.Errorf("Successful = %d, want Reps x Concurrency = 20", r.Successful)
		}
		// The 20th request is not due before 19/200 s.
		if r.Elapsed < 95*time.Millisecond {
			t.Errorf("Elapsed = %v, want at least 95ms at 200 req/s", r.Elapsed)
		}
	})
	t.Run("NoCoordinatedOmission", func(t *testing.T) {
		// One connection, a 50ms server and 10 requests due every 10ms: the
		// last is due at 90ms but cannot finish before 500ms, so its latency
		// from the intended start is at least 410ms. A closed-model tool
		// would report about 50ms.
		r := mustRun(t, context.Background(), bench.Config{URLs: tg.urls("/delay"), Concurrency: 1, Reps: 10, Rate: 100})
		if r.Successful != 10 {
			t.Fatalf("Successful = %d, want 10", r.Successful)
		}
		if r.Latency.Max < 410*time.Millisecond {
			t.Errorf("max latency %v, want at least 410ms measured from intended starts", r.Latency.Max)
		}
	})
}

func TestRunConfigErrors(t *testing.T) {
	ok := []bench.Target{{URL: "http://127.0.0.1:1/"}}
	tests := []struct {
		name string
		cfg  bench.Config
		want string
	}{
		{"NoURLs", bench.Config{}, "no URLs"},
		{"Scheme", bench.Config{URLs: []bench.Target{{URL: "ftp://x/"}}}, "http"},
		{"NoHost", bench.Config{URLs: []bench.Target{{URL: "http:///x"}}}, "no host"},
		{"Method", bench.Config{URLs: []bench.Target{{URL: "http://x/", Method: "GE T"}}}, "method"},
		{"HeaderInjection", bench.Config{URLs: ok, Headers: []bench.Header{{Name: "X", Value: "a\r\nEvil: 1"}}}, "control"},
		{"HeaderName", bench.Config{URLs: ok, Headers: []bench.Header{{Name: "X Y", Value: "a"}}}, "name"},
		{"HostInjection", bench.Config{URLs: ok, Host: "a\r\nb"}, "Host"},
		{"ContentLength", bench.Config{URLs: ok, Headers: []bench.Header{{Name: "content-length", Value: "5"}}}, "generator"},
		{"RateAndDelay", bench.Config{URLs: ok, Rate: 10, Delay: time.Second}, "do not mix"},
		{"Negative", bench.Config{URLs: ok, Reps: -1}, "negative"},
		{"Concurrency", bench.Config{URLs: ok, Concurrency: bench.MaxConcurrency + 1}, "concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bench.Run(context.Background(), tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestRunTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, okBody)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted case logs handshake errors
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	urls := []bench.Target{{URL: srv.URL + "/"}}

	r := mustRun(t, context.Background(), bench.Config{URLs: urls, Concurrency: 2, Reps: 5,
		Host: "example.com", TLS: &tls.Config{RootCAs: pool}})
	check(t, r, want{transactions: 10, successful: 10, bytes: 10 * int64(len(okBody)), availability: "100.00",
		status: map[int]int64{200: 10}})

	// Without the test CA the certificate is not trusted: failures, kind other.
	r = mustRun(t, context.Background(), bench.Config{URLs: urls, Concurrency: 1, Reps: 2})
	check(t, r, want{failed: 2, availability: "0.00", status: map[int]int64{}, errs: bench.Errors{Other: 2}})
}

// TestRunEndsMidRequest ends many runs while requests are in flight (by
// deadline and by cancel), so that the goroutine closing the connections
// races the workers using them; -race checks the ownership of the
// connection slots. Requests cut off by the end are never failures.
func TestRunEndsMidRequest(t *testing.T) {
	tg := newTarget(t)
	for i := range 200 {
		ctx, cancel := context.WithCancel(context.Background())
		cfg := bench.Config{URLs: tg.urls("/ok"), Concurrency: 16}
		if i%3 == 0 {
			cfg.URLs = tg.urls("/ok", "/delay", "/slow", "/ok")
		}
		if i%2 == 0 {
			cfg.Duration = time.Duration(1+i%7) * time.Millisecond
		} else {
			time.AfterFunc(time.Duration(i%5)*time.Millisecond, cancel)
		}
		r, err := bench.Run(ctx, cfg, nil)
		cancel()
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if r.Failed != 0 {
			t.Fatalf("run %d: %d failed (%+v): requests cut off by the end must not count", i, r.Failed, r.Errors)
		}
	}
}

// TestRunPoolsByAddress: URLs of many hosts that all resolve to one address
// (the balancer in front of many sites) share each user's connection, as a
// browser pools by origin address; each request still carries its own Host.
func TestRunPoolsByAddress(t *testing.T) {
	tg := newTarget(t)
	_, port, err := net.SplitHostPort(tg.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var urls []bench.Target
	for i := range 50 {
		urls = append(urls, bench.Target{URL: fmt.Sprintf("http://site%d.localhost:%s/echo", i, port)})
	}
	urls = append(urls, bench.Target{URL: "http://127.0.0.1:" + port + "/echo"})
	r := mustRun(t, context.Background(), bench.Config{URLs: urls, Concurrency: 4, Reps: 51})
	if r.Successful != 4*51 {
		t.Fatalf("Successful = %d, want %d", r.Successful, 4*51)
	}
	if got := tg.conns.Load(); got != 4 {
		t.Errorf("server saw %d connections for 4 users over 51 hosts of one address, want 4", got)
	}
	hosts := map[string]bool{}
	tg.mu.Lock()
	for _, s := range tg.seen {
		for _, f := range strings.Fields(s) {
			if h, ok := strings.CutPrefix(f, "host="); ok {
				hosts[h] = true
			}
		}
	}
	tg.mu.Unlock()
	if len(hosts) != 51 {
		t.Errorf("server saw %d distinct Host headers, want 51", len(hosts))
	}
}
