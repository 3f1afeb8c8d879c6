package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/orchardhq/orchard"
)

// Target is one process the master scrapes.
type Target struct {
	Name  string // machine or process name, e.g. node0; unique
	Group string // e.g. "balancer", "web nodes", "master"
	URL   string // its /metrics URL
}

// ScraperOptions configures a Scraper.
type ScraperOptions struct {
	Targets []Target
	Dir     string        // history directory; "" keeps history in memory only
	Every   time.Duration // scrape interval; default 5s
	Timeout time.Duration // per scrape; default min(Every, 5s)
	Client  *http.Client  // default: a client with Timeout
	Logger  *slog.Logger
	Now     func() time.Time // clock; default time.Now
}

// recentCap bounds the raw samples kept per target for the hour view
// (720 = an hour at the default 5 s interval).
const recentCap = 720

// maxScrapeBytes bounds a /metrics response.
const maxScrapeBytes = 8 << 20

// Scraper reads every target's /metrics on a schedule and keeps, per
// target, the last recentCap samples in memory and a week of per-minute
// averages on disk (HistoryBytesPerTarget each).
type Scraper struct {
	opts   ScraperOptions
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu      sync.Mutex
	targets []*targetState
}

type targetState struct {
	Target
	ring     *ring
	acc      minuteAcc
	prev     *raw
	recent   []recentPoint // ring buffer, oldest at next when full
	next     int
	lastOK   time.Time
	lastErr  string
	scrapes  int
	releases map[string]string
	rcount   int     // sites with an active release, when reported as a count (MaxReleaseSeries)
	rdigest  uint64  // their ReleasesDigest
	certHost string  // the certificate that expires first, if the target has any
	certLeft float64 // its seconds left at the last scrape
	version  string
	member   string // state the balancer reports for a member of this name
}

type recentPoint struct {
	t time.Time
	v Values
}

// NewScraper returns a scraper; it does no I/O.
func NewScraper(o ScraperOptions) *Scraper {
	o.Every = orchard.OrDefault(o.Every, 5*time.Second)
	o.Timeout = orchard.OrDefault(o.Timeout, min(o.Every, 5*time.Second))
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.Timeout}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Scraper{opts: o, log: o.Logger.With("component", "monitor")}
}

var unsafeFileChars = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`[^a-zA-Z0-9_.-]`)
})

// historyFile names a target's history file: its name with anything but
// letters, digits, '.', '_' and '-' replaced, never a path.
func historyFile(dir, name string) string {
	base := unsafeFileChars().ReplaceAllString(name, "_")
	if base == "" || base[0] == '.' {
		base = "_" + base
	}
	return filepath.Join(dir, base+".ring")
}

// Open loads the history of every target and starts scraping. It fails
// synchronously (a bad target, an unusable directory).
func (s *Scraper) Open(ctx context.Context) error {
	seen := map[string]bool{}
	files := map[string]bool{}
	for _, t := range s.opts.Targets {
		if t.Name == "" || seen[t.Name] {
			return fmt.Errorf("monitor: target names must be unique and not empty (%q)", t.Name)
		}
		seen[t.Name] = true
		var rpath string
		if s.opts.Dir != "" {
			if err := os.MkdirAll(s.opts.Dir, 0o750); err != nil {
				return fmt.Errorf("monitor: %w", err)
			}
			rpath = historyFile(s.opts.Dir, t.Name)
			if files[rpath] {
				return fmt.Errorf("monitor: targets %q and another share a history file name", t.Name)
			}
			files[rpath] = true
		}
		r, err := openRing(rpath)
		if err != nil {
			s.closeRings()
			return fmt.Errorf("monitor: %w", err)
		}
		s.targets = append(s.targets, &targetState{Target: t, ring: r, recent: make([]recentPoint, 0, recentCap)})
	}
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.done = make(chan struct{})
	go s.loop(ctx)
	return nil
}

func (s *Scraper) loop(ctx context.Context) {
	defer close(s.done)
	tick := time.NewTicker(s.opts.Every)
	defer tick.Stop()
	for {
		s.ScrapeOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Close stops scraping, records the current minute and closes the history
// files. It may be called more than once, and after a failed Open.
func (s *Scraper) Close() error {
	var err error
	s.once.Do(func() {
		if s.cancel != nil {
			s.cancel()
			<-s.done
		}
		s.mu.Lock()
		for _, t := range s.targets {
			if v, ok := t.acc.avg(); ok && t.acc.minute > 0 {
				if perr := t.ring.put(t.acc.minute, v); perr != nil && err == nil {
					err = perr
				}
			}
		}
		s.mu.Unlock()
		if cerr := s.closeRings(); err == nil {
			err = cerr
		}
	})
	return err
}

func (s *Scraper) closeRings() error {
	var err error
	for _, t := range s.targets {
		if cerr := t.ring.close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// ScrapeOnce scrapes every target now (concurrently) and records the
// results. The loop calls it every Every; tests may call it directly.
func (s *Scraper) ScrapeOnce(ctx context.Context) {
	type got struct {
		raw *raw
		err error
	}
	res := make([]got, len(s.targets))
	var wg sync.WaitGroup
	for i, t := range s.targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.fetch(ctx, t.URL)
			res[i] = got{r, err}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	now := s.opts.Now()
	// Members as the balancer sees them, to fill in nodes that count nothing.
	members := map[string]memberRaw{}
	for _, g := range res {
		if g.raw != nil {
			for name, m := range g.raw.members {
				members[name] = m
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, t := range s.targets {
		r, err := res[i].raw, res[i].err
		t.member = ""
		if m, ok := members[t.Name]; ok {
			t.member = m.state
		}
		if err != nil {
			if t.lastErr == "" {
				s.log.Warn("scrape failed", "target", t.Name, "url", t.URL, "err", err)
			}
			t.lastErr = err.Error()
			t.prev = nil
			s.record(t, now, nanValues())
			continue
		}
		if t.lastErr != "" {
			s.log.Info("scrape works again", "target", t.Name)
		}
		t.lastErr = ""
		t.lastOK = now
		t.scrapes++
		r.at = now
		if m, ok := members[t.Name]; ok && r.reqs == 0 {
			// The node counts no requests itself: use what its balancer sent it.
			r.reqs, r.errs, r.hasReqs = m.reqs, m.errs, true
			if r.p99Gauge == 0 || math.IsNaN(r.p99Gauge) {
				r.p99Gauge = m.p99
			}
		}
		t.releases, t.version = r.releases, r.version
		t.rcount, t.rdigest = r.releaseCount, r.releaseDigest
		t.certHost, t.certLeft = r.certHost, r.certLeft
		v := derive(t.prev, r)
		t.prev = r
		if v == nil {
			continue // first sample: rates need two
		}
		s.record(t, now, *v)
	}
}

// record adds v at now to t's recent samples and minute average.
func (s *Scraper) record(t *targetState, now time.Time, v Values) {
	p := recentPoint{now, v}
	if len(t.recent) < recentCap {
		t.recent = append(t.recent, p)
	} else {
		t.recent[t.next] = p
		t.next = (t.next + 1) % recentCap
	}
	m := unixMinute(now)
	if t.acc.minute != m {
		if avg, ok := t.acc.avg(); ok && t.acc.minute > 0 {
			if err := t.ring.put(t.acc.minute, avg); err != nil {
				s.log.Error("history write", "target", t.Name, "err", err)
			}
		}
		t.acc = minuteAcc{minute: m}
	}
	t.acc.add(v)
}

func (s *Scraper) fetch(ctx context.Context, url string) (*raw, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	// Not gzip, which the client asks for unless told: a scraped process
	// made a new compressor for each scrape (650 KB of garbage every 5 s,
	// most of what an idle node of 10,000 sites allocated, and so most of
	// its garbage collections), to save a few KB on the cluster's network.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	return parseScrape(resp.Body)
}

// parseScrape reads a /metrics body (at most maxScrapeBytes) into what
// the dashboard keeps.
func parseScrape(body io.Reader) (*raw, error) {
	lr := &io.LimitedReader{R: body, N: maxScrapeBytes + 1}
	samples, err := ParseTextNames(lr, extracted)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if lr.N <= 0 {
		return nil, errors.New("response larger than 8 MiB")
	}
	return extract(samples), nil
}

// raw is what one scrape says, before rates.
type raw struct {
	at                time.Time
	reqs, errs        float64
	hasReqs           bool
	hist              map[float64]float64 // le -> cumulative count
	p99Gauge          float64             // seconds, from a gauge (balancer members)
	cpuBusy, cpuTotal float64
	hasCPU            bool
	load1             float64
	memUsed, memTotal float64
	hasMem, hasLoad   bool
	netRx, netTx      float64
	hasNet            bool
	releases          map[string]string
	releaseCount      int     // MetricReleasesActive, reported instead of releases
	releaseDigest     uint64  // MetricReleasesDigest
	certHost          string  // the host whose certificate expires first (MetricCertExpiry), "" for none
	certLeft          float64 // and its seconds left
	version           string
	members           map[string]memberRaw
}

type memberRaw struct {
	reqs, errs, p99 float64
	state           string
}

// extracted reports whether extract reads the metric name: the scraper
// parses nothing else (per-site series, Go runtime details, ...).
func extracted(name []byte) bool {
	switch string(name) {
	case MetricRequests, MetricBalancerReqs, MetricBalancerFail, MetricDuration + "_bucket",
		MetricCPUSeconds, MetricLoad1, MetricMemTotal, MetricMemAvailable, MetricNetRx, MetricNetTx,
		MetricReleaseInfo, MetricReleasesActive, MetricReleasesDigest, MetricProcessInfo, MetricCertExpiry,
		"orchard_balancer_member_requests_total", "orchard_balancer_member_errors_total",
		"orchard_balancer_member_latency_p99_seconds", "orchard_balancer_member_state":
		return true
	}
	return false
}

// extract reads the metrics the dashboard graphs out of one scrape (the
// names extracted accepts).
func extract(samples []Sample) *raw {
	r := &raw{hist: map[float64]float64{}, releases: map[string]string{}, members: map[string]memberRaw{}, p99Gauge: math.NaN()}
	var balReqs, balFail float64
	hasBal := false
	for _, s := range samples {
		switch s.Name {
		case MetricRequests:
			r.reqs += s.Value
			r.hasReqs = true
			if s.Label("class") == "5xx" {
				r.errs += s.Value
			}
		case MetricBalancerReqs:
			balReqs, hasBal = s.Value, true
		case MetricBalancerFail:
			balFail = s.Value
		case MetricDuration + "_bucket":
			le, err := strconv.ParseFloat(s.Label("le"), 64)
			if err == nil {
				r.hist[le] += s.Value
			}
		case MetricCPUSeconds:
			r.cpuTotal += s.Value
			r.hasCPU = true
			if m := s.Label("mode"); m != "idle" && m != "iowait" {
				r.cpuBusy += s.Value
			}
		case MetricLoad1:
			r.load1, r.hasLoad = s.Value, true
		case MetricMemTotal:
			r.memTotal, r.hasMem = s.Value, true
		case MetricMemAvailable:
			r.memUsed = -s.Value // total added below
		case MetricNetRx:
			r.netRx += s.Value
			r.hasNet = true
		case MetricNetTx:
			r.netTx += s.Value
		case MetricReleaseInfo:
			if site := s.Label("site"); site != "" {
				r.releases[site] = s.Label("release")
			}
		case MetricReleasesActive:
			r.releaseCount = int(s.Value)
		case MetricReleasesDigest:
			r.releaseDigest = uint64(s.Value)
		case MetricCertExpiry:
			if h := s.Label("host"); h != "" && (r.certHost == "" || s.Value < r.certLeft) {
				r.certHost, r.certLeft = h, s.Value
			}
		case MetricProcessInfo:
			r.version = s.Label("version")
		case "orchard_balancer_member_requests_total", "orchard_balancer_member_errors_total",
			"orchard_balancer_member_latency_p99_seconds", "orchard_balancer_member_state":
			name := s.Label("member")
			if name == "" {
				continue
			}
			m := r.members[name]
			switch s.Name {
			case "orchard_balancer_member_requests_total":
				m.reqs += s.Value
			case "orchard_balancer_member_errors_total":
				m.errs += s.Value
			case "orchard_balancer_member_latency_p99_seconds":
				m.p99 = max(m.p99, s.Value)
			default:
				if s.Value == 1 {
					m.state = s.Label("state")
				}
			}
			r.members[name] = m
		}
	}
	if r.hasMem {
		r.memUsed += r.memTotal
	}
	if hasBal {
		// The balancer's own view is the one that counts for it.
		r.reqs, r.errs, r.hasReqs = balReqs, balFail, true
	}
	return r
}

// derive turns two scrapes into rates and gauges; nil if prev is missing
// or not older than cur.
func derive(prev, cur *raw) *Values {
	if prev == nil || !cur.at.After(prev.at) {
		return nil
	}
	dt := cur.at.Sub(prev.at).Seconds()
	v := nanValues()
	rate := func(a, b float64) float64 {
		d := b - a
		if d < 0 { // counter reset: the process restarted
			d = b
		}
		return d / dt
	}
	if cur.hasReqs && prev.hasReqs {
		v[FieldRequests] = rate(prev.reqs, cur.reqs)
		v[FieldErrors] = rate(prev.errs, cur.errs)
	}
	if p := histQuantile(0.99, prev.hist, cur.hist); !math.IsNaN(p) {
		v[FieldP99] = p * 1000
	} else if !math.IsNaN(cur.p99Gauge) && cur.p99Gauge > 0 {
		v[FieldP99] = cur.p99Gauge * 1000
	}
	if cur.hasCPU && prev.hasCPU && cur.cpuTotal > prev.cpuTotal {
		// /proc counts in ticks: over short intervals the ratio can pass 100.
		v[FieldCPU] = min(100, max(0, 100*(cur.cpuBusy-prev.cpuBusy)/(cur.cpuTotal-prev.cpuTotal)))
	}
	if cur.hasLoad {
		v[FieldLoad] = cur.load1
	}
	if cur.hasMem && cur.memTotal > 0 {
		v[FieldMemory] = 100 * cur.memUsed / cur.memTotal
	}
	if cur.hasNet && prev.hasNet {
		v[FieldNetIn] = rate(prev.netRx, cur.netRx)
		v[FieldNetOut] = rate(prev.netTx, cur.netTx)
	}
	return &v
}

// histQuantile estimates quantile q of the observations made between two
// cumulative histograms (linear within a bucket); NaN when there were none.
func histQuantile(q float64, prev, cur map[float64]float64) float64 {
	if len(cur) == 0 {
		return math.NaN()
	}
	les := make([]float64, 0, len(cur))
	for le := range cur {
		les = append(les, le)
	}
	sort.Float64s(les)
	delta := func(le float64) float64 {
		d := cur[le] - prev[le]
		if d < 0 {
			d = cur[le]
		}
		return d
	}
	total := delta(les[len(les)-1])
	if total <= 0 {
		return math.NaN()
	}
	want := q * total
	lower, below := 0.0, 0.0
	for _, le := range les {
		c := delta(le)
		if c >= want {
			if math.IsInf(le, 1) {
				return lower
			}
			if c == below {
				return le
			}
			return lower + (le-lower)*(want-below)/(c-below)
		}
		lower, below = le, c
	}
	return lower
}
