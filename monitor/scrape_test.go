package monitor_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/orchardhq/orchard/internal/testnet"
	"github.com/orchardhq/orchard/monitor"
)

// clock is a test clock moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock                   { return &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)} }
func serveRegistry(reg *prometheus.Registry) *httptest.Server {
	return httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
}

// fakeProcess is a process exposing orchard's metric names.
type fakeProcess struct {
	reg  *prometheus.Registry
	reqs *prometheus.CounterVec
	dur  *prometheus.HistogramVec
	srv  *httptest.Server
}

func newFakeProcess(t *testing.T, role string, extra ...prometheus.Collector) *fakeProcess {
	t.Helper()
	p := &fakeProcess{
		reqs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: monitor.MetricRequests, Help: "r"}, []string{"role", "class"}),
		dur:  prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: monitor.MetricDuration, Help: "d"}, []string{"role"}),
	}
	p.reqs.WithLabelValues(role, "2xx")
	p.dur.WithLabelValues(role)
	p.reg = monitor.NewRegistry(monitor.ProcessInfo{Role: role, Version: "test"}, nil, []string{t.TempDir()},
		append(extra, p.reqs, p.dur, monitor.NewReleaseCollector(func() map[string]string {
			return map[string]string{"alpha.localhost": "0123456789abcdef0123"}
		}))...)
	p.srv = serveRegistry(p.reg)
	t.Cleanup(p.srv.Close)
	return p
}

func MustOpenScraper(t *testing.T, o monitor.ScraperOptions) *monitor.Scraper {
	t.Helper()
	s := monitor.NewScraper(o)
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	// The loop scrapes once at Open; wait for it so the test drives the rest.
	testnet.WaitFor(t, "first scrape", func() bool {
		for _, m := range s.Machines() {
			if m.State == "waiting" {
				return false
			}
		}
		return true
	})
	return s
}

func last(ps []monitor.Point) float64 {
	for i := len(ps) - 1; i >= 0; i-- {
		if !math.IsNaN(ps[i].V) {
			return ps[i].V
		}
	}
	return math.NaN()
}

func TestScraper(t *testing.T) {
	node0 := newFakeProcess(t, "node")
	node1 := newFakeProcess(t, "node") // counts nothing itself: the balancer's numbers fill in
	members := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orchard_balancer_member_requests_total", Help: "m"}, []string{"pool", "member"})
	state := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "orchard_balancer_member_state", Help: "s"}, []string{"pool", "member", "state"})
	state.WithLabelValues("web", "node1", "ok").Set(1)
	balReqs := prometheus.NewCounter(prometheus.CounterOpts{Name: monitor.MetricBalancerReqs, Help: "b"})
	bal := newFakeProcess(t, "balancer", members, state, balReqs)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()

	clk := newClock()
	dir := t.TempDir()
	targets := []monitor.Target{
		{Name: "balancer", Group: "balancer", URL: bal.srv.URL},
		{Name: "node0", Group: "web nodes", URL: node0.srv.URL},
		{Name: "node1", Group: "web nodes", URL: node1.srv.URL},
		{Name: "node2", Group: "web nodes", URL: down.URL},
	}
	s := MustOpenScraper(t, monitor.ScraperOptions{Targets: targets, Dir: dir, Every: time.Hour, Now: clk.Now})

	for round := range 3 {
		node0.reqs.WithLabelValues("node", "2xx").Add(45)
		node0.reqs.WithLabelValues("node", "5xx").Add(5)
		for range 100 {
			node0.dur.WithLabelValues("node").Observe(0.003)
		}
		members.WithLabelValues("web", "node1").Add(100)
		balReqs.Add(150)
		clk.Advance(5 * time.Second)
		s.ScrapeOnce(context.Background())
		_ = round
	}
	hour := monitor.Ranges[0]
	name := func(n string) func(monitor.Target) bool { return func(t monitor.Target) bool { return t.Name == n } }
	group := func(g string) func(monitor.Target) bool { return func(t monitor.Target) bool { return t.Group == g } }
	for _, tc := range []struct {
		what  string
		field int
		match func(monitor.Target) bool
		lo    float64
		hi    float64
	}{
		{"node0 requests/s", monitor.FieldRequests, name("node0"), 10, 10},
		{"node0 errors/s", monitor.FieldErrors, name("node0"), 1, 1},
		{"node0 p99 ms", monitor.FieldP99, name("node0"), 2.5, 5},
		{"node1 requests/s from the balancer", monitor.FieldRequests, name("node1"), 20, 20},
		{"web nodes requests/s", monitor.FieldRequests, group("web nodes"), 30, 30},
		{"balancer requests/s", monitor.FieldRequests, name("balancer"), 30, 30},
		{"node0 memory %", monitor.FieldMemory, name("node0"), 0.001, 100},
		{"node0 load", monitor.FieldLoad, name("node0"), 0, 1000},
	} {
		ps := s.Series(tc.field, hour, tc.match)
		if v := last(ps); !(v >= tc.lo && v <= tc.hi) {
			t.Errorf("%s = %v, want %v..%v (points %v)", tc.what, v, tc.lo, tc.hi, ps)
		}
	}
	ms := s.Machines()
	if ms[3].State != "down" || ms[3].LastErr == "" || ms[1].State != "up" || ms[2].Member != "ok" {
		t.Errorf("machines: %+v", ms)
	}
	if ms[1].Releases["alpha.localhost"] != "0123456789abcdef0123" || ms[1].Version != "test" {
		t.Errorf("node0 releases %v version %q", ms[1].Releases, ms[1].Version)
	}

	t.Run("HistorySurvivesRestart", func(t *testing.T) {
		clk.Advance(time.Minute) // the next scrape closes the minute
		node0.reqs.WithLabelValues("node", "2xx").Add(600)
		s.ScrapeOnce(context.Background())
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		fi, err := os.Stat(filepath.Join(dir, "node0.ring"))
		if err != nil || fi.Size() != int64(monitor.HistoryBytesPerTarget) {
			t.Fatalf("history file: %v, size %v, want %d", err, fi, monitor.HistoryBytesPerTarget)
		}
		s2 := MustOpenScraper(t, monitor.ScraperOptions{Targets: targets, Dir: dir, Every: time.Hour, Now: clk.Now})
		day := monitor.Ranges[1]
		if v := last(s2.Series(monitor.FieldRequests, day, name("node0"))); math.IsNaN(v) || v <= 0 {
			t.Errorf("after restart node0 requests/s over a day = %v, want > 0", v)
		}
	})
}

func TestDashboard(t *testing.T) {
	node0 := newFakeProcess(t, "node")
	clk := newClock()
	s := MustOpenScraper(t, monitor.ScraperOptions{
		Targets: []monitor.Target{{Name: "node0", Group: "web nodes", URL: node0.srv.URL}, {Name: "<b>x</b>", Group: "g<i>", URL: "http://127.0.0.1:1/metrics"}},
		Every:   time.Hour, Now: clk.Now,
	})
	for range 3 {
		node0.reqs.WithLabelValues("node", "2xx").Add(10)
		clk.Advance(5 * time.Second)
		s.ScrapeOnce(context.Background())
	}
	srv := httptest.NewServer(monitor.NewDashboard(s))
	defer srv.Close()
	for _, tc := range []struct {
		method, query string
		status        int
		has           []string
	}{
		{"GET", "", 200, []string{"Whole cluster", `class="series"`, `data-state="up"`, `data-state="down"`, "alpha.localhost 0123456789ab", "&lt;b&gt;x&lt;/b&gt;", `content="10"`}},
		{"GET", "?range=day", 200, []string{`class="on">last day`}},
		{"GET", "?range=week", 200, []string{`class="on">last week`}},
		{"GET", "?range=year", 400, nil},
		{"POST", "", 405, nil},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+"/"+tc.query, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.query, resp.StatusCode, tc.status)
		}
		for _, h := range tc.has {
			if !strings.Contains(string(body), h) {
				t.Errorf("%s %s: page lacks %q", tc.method, tc.query, h)
			}
		}
		if strings.Contains(string(body), "<b>x</b>") {
			t.Errorf("target name not escaped")
		}
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		targets []monitor.Target
	}{
		{"Duplicate", []monitor.Target{{Name: "a", URL: "http://x/"}, {Name: "a", URL: "http://y/"}}},
		{"Empty", []monitor.Target{{Name: "", URL: "http://x/"}}},
		{"SameFile", []monitor.Target{{Name: "a/b", URL: "http://x/"}, {Name: "a_b", URL: "http://y/"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := monitor.NewScraper(monitor.ScraperOptions{Targets: tc.targets, Dir: t.TempDir()})
			if err := s.Open(context.Background()); err == nil {
				t.Error("Open succeeded")
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close after a failed Open: %v", err)
			}
		})
	}
	t.Run("NoPathEscape", func(t *testing.T) {
		dir := t.TempDir()
		s := monitor.NewScraper(monitor.ScraperOptions{Targets: []monitor.Target{{Name: "../../evil", URL: "http://127.0.0.1:1/"}}, Dir: filepath.Join(dir, "h"), Every: time.Hour})
		if err := s.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		s.Close()
		entries, _ := os.ReadDir(filepath.Join(dir, "h"))
		if len(entries) != 1 || strings.Contains(entries[0].Name(), "/") {
			t.Errorf("history files %v", entries)
		}
		if _, err := os.Stat(filepath.Join(dir, "evil.ring")); err == nil {
			t.Error("history file escaped its directory")
		}
	})
}

// parsed fails the test unless err is what a parser case wants: nil, or
// an error that contains errHas. It reports whether the case goes on to
// check what was parsed.
func parsed(t *testing.T, err error, errHas string) bool {
	t.Helper()
	if errHas != "" {
		if err == nil || !strings.Contains(err.Error(), errHas) {
			t.Fatalf("err = %v, want it to contain %q", err, errHas)
		}
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func TestParseText(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     int
		errHas   string
	}{
		{"OK", "# HELP x y\n# TYPE x counter\nx 1\ny{a=\"b\",c=\"d\\\"e\\\\\\n\"} 2.5e3 1700000000\nz{} +Inf\nw NaN\n", 4, ""},
		{"NoValue", "x\n", 0, "line 1"},
		{"BadValue", "x abc\n", 0, "bad value"},
		{"Unterminated", "x{a=\"b} 1\n", 0, "line 1"},
		{"BadEscape", "x{a=\"\\t\"} 1\n", 0, "escape"},
		{"BadName", "{a=\"b\"} 1\n", 0, "name"},
		{"Trailing", "x 1 2 3\n", 0, "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := monitor.ParseText(strings.NewReader(tc.in))
			if !parsed(t, err, tc.errHas) {
				return
			}
			if len(got) != tc.want {
				t.Fatalf("%d samples, want %d", len(got), tc.want)
			}
			if got[1].Label("c") != "d\"e\\\n" || got[1].Value != 2500 {
				t.Errorf("sample %+v", got[1])
			}
		})
	}
}

func FuzzParseText(f *testing.F) {
	f.Add("x 1\n")
	f.Add("y{a=\"b\",c=\"d\\\"e\"} 2.5e3 1700000000\n# c\n")
	f.Add("z_bucket{le=\"+Inf\"} 3\n")
	f.Fuzz(func(t *testing.T, in string) {
		ss, err := monitor.ParseText(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, s := range ss {
			if s.Name == "" {
				t.Fatalf("sample without a name from %q", in)
			}
		}
	})
}

func TestGraphSVG(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := monitor.Graph{Title: `<script>"x"</script>`, From: t0, To: t0.Add(time.Hour), Series: []monitor.Series{{Name: "a", Points: []monitor.Point{
		{t0, 1}, {t0.Add(time.Minute), math.NaN()}, {t0.Add(2 * time.Minute), 3}, {t0.Add(3 * time.Minute), 4},
	}}}}
	svg := g.SVG()
	if strings.Contains(svg, "<script>") {
		t.Error("title not escaped")
	}
	if !strings.Contains(svg, `data-points="3"`) || strings.Count(svg, "M") < 2 {
		t.Errorf("want 3 points in two runs:\n%s", svg)
	}
	empty := monitor.Graph{Title: "e", From: t0, To: t0.Add(time.Hour)}.SVG()
	if !strings.Contains(empty, "no data yet") {
		t.Errorf("empty graph:\n%s", empty)
	}
	_ = fmt.Sprint()
}

func TestHistoryFileDamaged(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"Truncated", []byte("ORCHRING1\nabc")},
		{"WrongMagic", make([]byte, monitor.HistoryBytesPerTarget)},
		{"Garbage", append([]byte("ORCHRING1\n"), []byte(strings.Repeat("\xff", monitor.HistoryBytesPerTarget-10))...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "n.ring"), tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			s := monitor.NewScraper(monitor.ScraperOptions{Targets: []monitor.Target{{Name: "n", URL: "http://127.0.0.1:1/"}}, Dir: dir, Every: time.Hour})
			if err := s.Open(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for _, rg := range monitor.Ranges {
				for _, p := range s.Series(monitor.FieldRequests, rg, func(monitor.Target) bool { return true }) {
					if !math.IsNaN(p.V) {
						t.Fatalf("%s: value %v from a damaged file", rg.Name, p)
					}
				}
			}
			fi, err := os.Stat(filepath.Join(dir, "n.ring"))
			if err != nil || fi.Size() != int64(monitor.HistoryBytesPerTarget) {
				t.Errorf("history file after open: %v %v", fi, err)
			}
		})
	}
}

// TestScraperHostTrafficOnce: processes on one machine report the same
// host traffic; the cluster's network graph counts each machine once (the
// demo's five processes showed five times the real figure).
func TestScraperHostTrafficOnce(t *testing.T) {
	var rxs []prometheus.Counter
	var targets []monitor.Target
	for i, host := range []string{"127.0.0.1", "127.0.0.1", "localhost"} {
		rx := prometheus.NewCounter(prometheus.CounterOpts{Name: monitor.MetricNetRx, Help: "rx", ConstLabels: prometheus.Labels{"device": "eth0"}})
		reg := prometheus.NewRegistry()
		reg.MustRegister(rx)
		srv := serveRegistry(reg)
		t.Cleanup(srv.Close)
		u := strings.Replace(srv.URL, "127.0.0.1", host, 1)
		rxs = append(rxs, rx)
		targets = append(targets, monitor.Target{Name: fmt.Sprintf("p%d", i), Group: "g", URL: u})
	}
	clk := newClock()
	s := MustOpenScraper(t, monitor.ScraperOptions{Targets: targets, Every: time.Hour, Now: clk.Now})
	for range 3 {
		for _, rx := range rxs {
			rx.Add(5000) // 1,000 bytes/s over 5 s, as each process sees its host
		}
		clk.Advance(5 * time.Second)
		s.ScrapeOnce(context.Background())
	}
	all := func(monitor.Target) bool { return true }
	if v := last(s.Series(monitor.FieldNetIn, monitor.Ranges[0], all)); v != 2000 {
		t.Errorf("cluster network in = %v bytes/s, want 2000 (two machines of 1000 each)", v)
	}
	if v := last(s.Series(monitor.FieldNetIn, monitor.Ranges[0], func(t monitor.Target) bool { return t.Name == "p1" })); v != 1000 {
		t.Errorf("one process's machine = %v bytes/s, want 1000", v)
	}
}

// TestDashboardCertExpiry: the master's certificate that expires first
// shows on its row of the dashboard.
func TestDashboardCertExpiry(t *testing.T) {
	expiry := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: monitor.MetricCertExpiry, Help: "e"}, []string{"host"})
	expiry.WithLabelValues("a.example").Set(90 * 24 * 3600)
	expiry.WithLabelValues("b.example").Set(20 * 24 * 3600)
	expiry.WithLabelValues("c.example").Set(45 * 24 * 3600)
	master := newFakeProcess(t, "master", expiry)
	s := MustOpenScraper(t, monitor.ScraperOptions{
		Targets: []monitor.Target{{Name: "master", Group: "master", URL: master.srv.URL}},
		Every:   time.Hour, Now: newClock().Now,
	})
	s.ScrapeOnce(context.Background())
	if m := s.Machines()[0]; m.CertHost != "b.example" || m.CertLeft != 20*24*time.Hour {
		t.Errorf("soonest certificate %q in %v, want b.example in 480h", m.CertHost, m.CertLeft)
	}
	srv := httptest.NewServer(monitor.NewDashboard(s))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "soonest certificate expiry: b.example in 20 days"; !strings.Contains(string(body), want) {
		t.Errorf("dashboard lacks %q", want)
	}
}

// TestScraperAsksIdentity: the scraper asks for /metrics uncompressed, so
// that a scraped process does not make a gzip compressor every few seconds;
// a client that asks for gzip still gets it.
func TestScraperAsksIdentity(t *testing.T) {
	reg := monitor.NewRegistry(monitor.ProcessInfo{Role: "node", Version: "test"}, nil, nil)
	h := monitor.Handler(reg, nil)
	var mu sync.Mutex
	var encodings []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		mu.Lock()
		encodings = append(encodings, rec.Header().Get("Content-Encoding"))
		mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	s := MustOpenScraper(t, monitor.ScraperOptions{Targets: []monitor.Target{{Name: "node0", Group: "web nodes", URL: srv.URL}}, Every: time.Hour})
	s.ScrapeOnce(context.Background())
	if m := s.Machines(); len(m) != 1 || m[0].State != "up" {
		t.Fatalf("machines after a scrape = %+v, want node0 up", m)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(encodings) < 3 {
		t.Fatalf("%d requests served, want the scraper's two and one more", len(encodings))
	}
	for i, e := range encodings[:len(encodings)-1] {
		if e != "" {
			t.Errorf("scrape %d answered with Content-Encoding %q, want none", i, e)
		}
	}
	if e := encodings[len(encodings)-1]; e != "gzip" {
		t.Errorf("a client asking for gzip got Content-Encoding %q", e)
	}
}
