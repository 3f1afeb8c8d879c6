package monitor_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orchardhq/orchard/internal/testnet"
	"github.com/orchardhq/orchard/monitor"
)

func MustOpenProbeDB(tb testing.TB) *monitor.ProbeDB {
	tb.Helper()
	db, err := monitor.OpenProbeDB(context.Background(), filepath.Join(tb.TempDir(), "probe.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestCheck(t *testing.T) {
	var gotHost, gotMethod atomic.Value
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHost.Store(r.Host)
		gotMethod.Store(r.Method)
		switch r.URL.Path {
		case "/fail":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/moved":
			http.Redirect(w, r, "/elsewhere", http.StatusMovedPermanently)
		default:
			w.Write([]byte("hello"))
		}
	}))
	defer srv.Close()
	defer close(release)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "http://" + ln.Addr().String() + "/"
	ln.Close()

	for _, tc := range []struct {
		name    string
		target  monitor.ProbeTarget
		timeout time.Duration
		ok      bool
		status  int
		errHas  string
	}{
		{"OK", monitor.ProbeTarget{URL: srv.URL + "/"}, time.Second * 5, true, 200, ""},
		{"GETWithHost", monitor.ProbeTarget{URL: srv.URL + "/", Method: "GET", Host: "www.example.com"}, 5 * time.Second, true, 200, ""},
		{"RedirectIsUp", monitor.ProbeTarget{URL: srv.URL + "/moved"}, 5 * time.Second, true, 301, ""},
		{"ServerError", monitor.ProbeTarget{URL: srv.URL + "/fail"}, 5 * time.Second, false, 500, ""},
		{"Slow", monitor.ProbeTarget{URL: srv.URL + "/slow"}, 200 * time.Millisecond, false, 0, "timeout"},
		{"Down", monitor.ProbeTarget{URL: downURL}, 5 * time.Second, false, 0, "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := monitor.Check(context.Background(), tc.target, tc.timeout)
			if got := r.OK(); got != tc.ok {
				t.Errorf("OK() = %v, want %v (%s)", got, tc.ok, r)
			}
			if r.Status != tc.status {
				t.Errorf("status = %d, want %d", r.Status, tc.status)
			}
			if !strings.Contains(r.Err, tc.errHas) {
				t.Errorf("err = %q, want it to contain %q", r.Err, tc.errHas)
			}
			if r.Total <= 0 {
				t.Errorf("total time %v, want > 0", r.Total)
			}
			if tc.ok && (r.Connect <= 0 || r.FirstByte <= 0 || r.FirstByte > r.Total) {
				t.Errorf("timings: connect %v, first byte %v, total %v", r.Connect, r.FirstByte, r.Total)
			}
		})
	}
	r := monitor.Check(context.Background(), monitor.ProbeTarget{URL: srv.URL + "/", Method: "GET", Host: "www.example.com"}, 5*time.Second)
	if !r.OK() || gotHost.Load() != "www.example.com" || gotMethod.Load() != "GET" {
		t.Errorf("host %v method %v, want www.example.com GET", gotHost.Load(), gotMethod.Load())
	}
	monitor.Check(context.Background(), monitor.ProbeTarget{URL: srv.URL + "/"}, 5*time.Second)
	if gotMethod.Load() != "HEAD" {
		t.Errorf("default method %v, want HEAD", gotMethod.Load())
	}
}

func TestProberDownAndBackUp(t *testing.T) {
	var healthy atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	db := MustOpenProbeDB(t)
	var mu sync.Mutex
	var changes []bool
	var results atomic.Int64
	p := monitor.NewProber(monitor.ProbeOptions{
		Targets:   []monitor.ProbeTarget{{URL: srv.URL + "/"}},
		Every:     20 * time.Millisecond,
		Timeout:   5 * time.Second,
		FailAfter: 3,
		DB:        db,
		OnResult:  func(monitor.Result) { results.Add(1) },
		OnChange: func(_ context.Context, r monitor.Result, down bool) {
			mu.Lock()
			changes = append(changes, down)
			mu.Unlock()
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	nchanges := func() int { mu.Lock(); defer mu.Unlock(); return len(changes) }
	testnet.WaitFor(t, "down", func() bool { return nchanges() >= 1 })
	if !p.WentDown() || len(p.Down()) != 1 {
		t.Errorf("WentDown %v, Down %v; want true, one URL", p.WentDown(), p.Down())
	}
	if n := results.Load(); n < 3 {
		t.Errorf("down after %d results, want at least 3", n)
	}
	healthy.Store(true)
	testnet.WaitFor(t, "back up", func() bool { return nchanges() >= 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if changes[0] != true || changes[1] != false || len(changes) != 2 {
		t.Errorf("changes %v, want [down up]", changes)
	}
	mu.Unlock()
	if len(p.Down()) != 0 {
		t.Errorf("still down: %v", p.Down())
	}
	rs, err := db.Results(context.Background(), srv.URL+"/", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) < 4 || rs[0].OK() || !rs[len(rs)-1].OK() {
		t.Errorf("recorded %d results, first OK %v, last OK %v", len(rs), rs[0].OK(), rs[len(rs)-1].OK())
	}
}

func addResults(t *testing.T, db *monitor.ProbeDB, rs ...monitor.Result) {
	t.Helper()
	for _, r := range rs {
		if err := db.Add(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReport(t *testing.T) {
	db := MustOpenProbeDB(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	u := "http://www.example.com/"
	addResults(t, db,
		monitor.Result{URL: u, At: now.Add(-8 * 24 * time.Hour), Status: 200, Total: 5 * time.Millisecond, FirstByte: 4 * time.Millisecond},
		monitor.Result{URL: u, At: now.Add(-3 * time.Hour), Status: 0, Err: `<script>alert(1)</script>`, Total: time.Millisecond},
		monitor.Result{URL: u, At: now.Add(-2 * time.Hour), Status: 200, Total: 7 * time.Millisecond, FirstByte: 6 * time.Millisecond},
		monitor.Result{URL: u, At: now.Add(-time.Hour), Status: 503, Total: 2 * time.Millisecond},
	)
	t.Run("RecordedPeriod", func(t *testing.T) {
		var buf bytes.Buffer
		if err := monitor.WriteReport(context.Background(), &buf, db, monitor.ReportOptions{Now: now}); err != nil {
			t.Fatal(err)
		}
		page := buf.String()
		for _, want := range []string{"DOWN", "50.00%</b> over recorded period (4 checks)", "<svg", `class="series"`, "&lt;script&gt;", "503"} {
			if !strings.Contains(page, want) {
				t.Errorf("report lacks %q", want)
			}
		}
		if strings.Contains(page, "<script>") {
			t.Error("report contains an unescaped error message")
		}
	})
	t.Run("Windows", func(t *testing.T) {
		ss, err := monitor.Summaries(context.Background(), db, monitor.ReportOptions{
			Now: now, Period: 24 * time.Hour, Windows: []time.Duration{24 * time.Hour, 7 * 24 * time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		if len(ss) != 1 {
			t.Fatalf("%d summaries, want 1", len(ss))
		}
		s := ss[0]
		if len(s.Uptime) != 2 || s.Uptime[0].Label != "1 d" || s.Uptime[0].Checks != 3 || int(s.Uptime[0].Percent) != 33 {
			t.Errorf("uptime %+v, want 1 d: 3 checks, 33%%", s.Uptime)
		}
		if s.Checks != 3 || len(s.Failures) != 2 || s.Failures[0].Status != 503 {
			t.Errorf("checks %d failures %+v", s.Checks, s.Failures)
		}
		if s.P50 != 7*time.Millisecond {
			t.Errorf("median %v, want 7ms", s.P50)
		}
	})
	t.Run("StatusHandler", func(t *testing.T) {
		srv := httptest.NewServer(monitor.StatusHandler(db, 30, func() time.Time { return now }))
		defer srv.Close()
		for _, tc := range []struct {
			method, path string
			status       int
		}{
			{"GET", "/", 200},
			{"POST", "/", 405},
			{"GET", "/../etc/passwd", 404},
			{"GET", "/x", 404},
		} {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
			}
			if tc.status == 200 && (!strings.Contains(b.String(), `http-equiv="refresh" content="30"`) || !strings.Contains(b.String(), u)) {
				t.Errorf("status page lacks refresh or URL:\n%s", b.String())
			}
		}
	})
}

func TestParseURLFile(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     int
		errHas   string
	}{
		{"OK", "# comment\n\nhttp://a.example/\nGET https://b.example/x\nHEAD http://10.0.0.1/ www.example.com\n", 3, ""},
		{"BadScheme", "ftp://a/\n", 0, "line 1"},
		{"NoHost", "http:///x\n", 0, "no host"},
		{"BadMethod", "G(T http://a/\n", 0, "method"},
		{"BadHost", "GET http://a/ bad_host!\n", 0, "host"},
		{"TooMany", "GET http://a/ b c\n", 0, "line 1"},
		{"Twice", "http://a/\nhttp://a/\n", 0, "twice"},
		{"Credentials", "http://u:p@a/\n", 0, "credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := monitor.ParseURLFile(strings.NewReader(tc.in))
			if !parsed(t, err, tc.errHas) {
				return
			}
			if len(got) != tc.want {
				t.Fatalf("%d targets, want %d", len(got), tc.want)
			}
			if got[0].Method != "HEAD" || got[2].Host != "www.example.com" {
				t.Errorf("targets %+v", got)
			}
		})
	}
}

func FuzzParseURLFile(f *testing.F) {
	f.Add("http://a.example/\nGET https://b.example/x\n")
	f.Add("HEAD http://10.0.0.1/ www.example.com\n# c\n")
	f.Add("GET http://[::1]:80/ x..y\n")
	f.Fuzz(func(t *testing.T, in string) {
		ts, err := monitor.ParseURLFile(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, tg := range ts {
			if _, err := monitor.ParseProbeTarget(tg.Method, tg.URL, tg.Host); err != nil {
				t.Fatalf("accepted target %+v fails again: %v", tg, err)
			}
			if l := strings.ToLower(tg.URL); !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
				t.Fatalf("accepted %q", tg.URL)
			}
		}
	})
}

// TestCheckLocalhostName checks that a name under .localhost reaches
// loopback without the system resolver (RFC 6761), as bench and browsers
// do, and that the URL's name is still the Host header.
func TestCheckLocalhostName(t *testing.T) {
	var gotHost atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHost.Store(r.Host)
		w.Write([]byte("hello"))
	}))
	defer srv.Close()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	url := "http://alpha.localhost:" + port + "/"
	r := monitor.Check(context.Background(), monitor.ProbeTarget{URL: url, Method: http.MethodGet}, 30*time.Second)
	if r.Err != "" || r.Status != http.StatusOK {
		t.Fatalf("Check(%s) = status %d, err %q; want 200 and no error", url, r.Status, r.Err)
	}
	if got, want := gotHost.Load(), "alpha.localhost:"+port; got != want {
		t.Errorf("Host header = %v, want %q", got, want)
	}
}
