package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orchardhq/orchard/internal/ticker"
)

// plan is a Config turned into wire-ready requests.
type plan struct {
	cfg       Config
	endpoints []endpoint
	requests  []request
}

// prepare validates cfg, resolves every host once and renders every request.
func prepare(ctx context.Context, cfg Config) (*plan, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	host := cfg.Host
	for _, h := range cfg.Headers {
		if host == "" && strings.EqualFold(h.Name, "Host") {
			host = h.Value
		}
	}
	p := &plan{cfg: cfg}
	// Connections are pooled by the address dialled (and, for https, the
	// server name), not by the URL's host: the many sites behind one
	// balancer share each user's connection, as a browser's do.
	index := map[string]int{}
	resolved := map[string]string{}
	for _, t := range cfg.URLs {
		u, err := parseTargetURL(t.URL)
		if err != nil {
			return nil, err
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		hostPort := net.JoinHostPort(u.Hostname(), port)
		addr, ok := resolved[hostPort]
		if !ok {
			if addr, err = resolve(ctx, u.Hostname(), port); err != nil {
				return nil, err
			}
			resolved[hostPort] = addr
		}
		sn := ""
		if u.Scheme == "https" {
			sn = u.Hostname()
			if host != "" {
				if h, _, err := net.SplitHostPort(host); err == nil {
					sn = h
				} else {
					sn = host
				}
			}
		}
		key := u.Scheme + "://" + addr + "/" + sn
		ep, ok := index[key]
		if !ok {
			e := endpoint{addr: addr}
			if u.Scheme == "https" {
				if cfg.TLS != nil {
					e.tls = cfg.TLS.Clone()
				} else {
					e.tls = &tls.Config{MinVersion: tls.VersionTLS12}
				}
				e.tls.ServerName = sn
			}
			ep = len(p.endpoints)
			index[key] = ep
			p.endpoints = append(p.endpoints, e)
		}
		wire, err := buildRequest(t, host, cfg.Headers, !cfg.NoKeepAlive)
		if err != nil {
			return nil, err
		}
		p.requests = append(p.requests, request{ep: ep, wire: wire, head: t.Method == "HEAD"})
	}
	return p, nil
}

// Run generates the load cfg describes until its Duration or Reps are done
// or ctx is cancelled, and returns what it measured. A cancelled ctx is not an
// error: Run returns the result so far with Interrupted set; requests cut off
// by the cancellation or by the end of Duration are not counted. progress,
// when not nil, is called every cfg.ProgressInterval from another goroutine,
// and never after Run returns. Errors are only about cfg (or resolving its
// hosts); failed requests are counted in the Result.
func Run(ctx context.Context, cfg Config, progress func(Snapshot)) (*Result, error) {
	p, err := prepare(ctx, cfg)
	if err != nil {
		return nil, err
	}
	cfg = p.cfg
	if err := ctx.Err(); err != nil {
		return &Result{Users: cfg.Concurrency, Rate: cfg.Rate, Status: map[int]int64{}, Interrupted: true}, nil
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	if cfg.Duration > 0 {
		var c2 context.CancelFunc
		runCtx, c2 = context.WithDeadline(runCtx, start.Add(cfg.Duration))
		defer c2()
	}

	lat := newLatencies()
	sched := &schedule{start: start, total: -1}
	if cfg.Rate > 0 {
		sched.interval = float64(time.Second) / cfg.Rate
		if cfg.Reps > 0 {
			sched.total = int64(cfg.Reps) * int64(cfg.Concurrency)
		}
	}
	workers := make([]*worker, cfg.Concurrency)
	for i := range workers {
		workers[i] = &worker{
			id:     i,
			plan:   p,
			lat:    lat,
			sched:  sched,
			dialer: &dialer{net: net.Dialer{Timeout: cfg.Timeout}, timeout: cfg.Timeout},
			conns:  make([]*conn, len(p.endpoints)),
			brs:    make([]*bufio.Reader, len(p.endpoints)),
		}
	}

	// When the run ends early (cancel, deadline), close every connection so
	// that requests blocked in a read return at once.
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-runCtx.Done()
		for _, w := range workers {
			w.stop()
		}
	}()

	var progressDone chan struct{}
	if progress != nil {
		progressDone = make(chan struct{})
		go func() {
			defer close(progressDone)
			ticker.Run(runCtx, cfg.ProgressInterval, func() { progress(snapshot(workers, start)) })
		}()
	}

	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { w.run(runCtx) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	cancel()
	<-stopped
	if progressDone != nil {
		<-progressDone
	}
	for _, w := range workers {
		w.flush()
	}

	r := merge(workers, lat)
	r.Users, r.Rate = cfg.Concurrency, cfg.Rate
	if cfg.Duration > 0 && elapsed > cfg.Duration {
		elapsed = cfg.Duration
	}
	r.Elapsed = elapsed
	r.Interrupted = ctx.Err() != nil
	return r, nil
}

func snapshot(workers []*worker, start time.Time) Snapshot {
	s := Snapshot{Elapsed: time.Since(start)}
	for _, w := range workers {
		s.Transactions += w.c.transactions.Load()
		s.Failed += w.c.failed.Load()
		s.Bytes += w.c.bytes.Load()
	}
	return s
}

// schedule hands out the intended start times of the open model.
type schedule struct {
	start    time.Time
	interval float64 // nanoseconds between intended starts; 0: closed model
	total    int64   // slots to hand out; -1: no limit
	next     atomic.Int64
}

// worker is one simulated user with its own connections.
type worker struct {
	c  counters
	t  tally
	id int

	plan   *plan
	lat    *latencies
	sched  *schedule
	dialer *dialer
	conns  []*conn         // by endpoint; nil when not connected; written by the worker's goroutine under mu
	brs    []*bufio.Reader // read buffers kept across reconnects
	timer  *time.Timer     // reused for delays and the rate schedule

	mu      sync.Mutex // guards stopped and the conns' registration
	stopped bool
}

func (w *worker) run(ctx context.Context) {
	defer w.closeAll()
	if w.sched.interval > 0 {
		w.runOpen(ctx)
	} else {
		w.runClosed(ctx)
	}
}

// runClosed is siege's user: request, wait a random delay, repeat.
func (w *worker) runClosed(ctx context.Context) {
	cfg := &w.plan.cfg
	reqs := w.plan.requests
	next := w.id * (len(reqs) / cfg.Concurrency) // siege's starting offset
	for rep := 0; cfg.Reps == 0 || rep < cfg.Reps; rep++ {
		if ctx.Err() != nil {
			return
		}
		if !w.send(ctx, w.pick(next), time.Now()) {
			return
		}
		next++
		if cfg.Delay > 0 && (cfg.Reps == 0 || rep+1 < cfg.Reps) {
			if !w.sleep(ctx, rand.N(cfg.Delay+1)) {
				return
			}
		}
	}
}

// runOpen takes the next intended start time, waits for it, and measures
// from it, so time spent queued behind a slow server counts as latency.
func (w *worker) runOpen(ctx context.Context) {
	for {
		i := w.sched.next.Add(1) - 1
		if w.sched.total >= 0 && i >= w.sched.total {
			return
		}
		intended := w.sched.start.Add(time.Duration(float64(i) * w.sched.interval))
		if d := time.Until(intended); d > 0 && !w.sleep(ctx, d) {
			return
		}
		if ctx.Err() != nil {
			return
		}
		if !w.send(ctx, w.pick(int(i)), intended) {
			return
		}
	}
}

// pick returns the request a worker sends nth: a random one with
// Config.Random, else the nth of the list, round and round.
func (w *worker) pick(n int) *request {
	reqs := w.plan.requests
	if w.plan.cfg.Random {
		return &reqs[rand.IntN(len(reqs))]
	}
	return &reqs[n%len(reqs)]
}

// send sends r and records its response with the latency counted from
// from. It reports false when the end of the run cut the request off: that
// one is not counted, and the worker stops.
func (w *worker) send(ctx context.Context, r *request, from time.Time) bool {
	resp, err := w.do(ctx, r, time.Now())
	if err != nil && runOver(ctx) {
		return false
	}
	w.record(resp, err, time.Since(from))
	return true
}

// runOver reports whether the run has ended. A dial bounded by the run's
// deadline fails with a timeout as soon as the deadline passes, which can be
// before ctx's own timer marks it done (later still on a busy machine); such
// a request was cut off by the end, not failed.
func runOver(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// sleep waits d or until ctx is done, reporting whether the run goes on.
func (w *worker) sleep(ctx context.Context, d time.Duration) bool {
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	select {
	case <-w.timer.C:
		return true
	case <-ctx.Done():
		w.timer.Stop()
		return false
	}
}

// do sends r and reads its response. A reused connection that the server
// closed while it was idle is retried once on a new connection, as browsers
// and siege's keep-alive do, so a server's idle timeout is not a failure.
func (w *worker) do(ctx context.Context, r *request, now time.Time) (response, error) {
	timeout := w.plan.cfg.Timeout
	for attempt := 0; ; attempt++ {
		c := w.conns[r.ep]
		fresh := c == nil
		if fresh {
			var err error
			if c, err = w.connect(ctx, r.ep); err != nil {
				return response{}, err
			}
		}
		if attempt > 0 {
			now = time.Now()
		}
		c.nc.SetDeadline(now.Add(timeout))
		var resp response
		started := false
		_, err := c.nc.Write(r.wire)
		if err == nil {
			started, err = readResponse(c.br, r.head, &resp)
		}
		if err == nil {
			if resp.close || w.plan.cfg.NoKeepAlive {
				w.closeConn(r.ep)
			}
			return resp, nil
		}
		w.closeConn(r.ep)
		if fresh || started || attempt > 0 || runOver(ctx) || classify(err) == kindTimeout {
			return resp, err
		}
	}
}

// connect dials endpoint ep and registers the connection so that stop can
// close it.
func (w *worker) connect(ctx context.Context, ep int) (*conn, error) {
	c, err := w.dialer.dial(ctx, w.plan.endpoints[ep], w.brs[ep])
	if err != nil {
		return nil, err
	}
	w.brs[ep] = c.br
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		c.nc.Close()
		return nil, context.Canceled
	}
	w.conns[ep] = c
	return c, nil
}

func (w *worker) closeConn(ep int) {
	w.mu.Lock()
	c := w.conns[ep]
	w.conns[ep] = nil
	w.mu.Unlock()
	if c != nil {
		c.nc.Close()
	}
}

// stop closes every connection and makes later connects fail; any goroutine
// may call it. It only closes the sockets: the slots belong to the worker's
// goroutine, which reads them without the lock and clears them itself when
// its blocked read or write fails.
func (w *worker) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	for _, c := range w.conns {
		if c != nil {
			c.nc.Close()
		}
	}
}

func (w *worker) closeAll() {
	for ep := range w.conns {
		w.closeConn(ep)
	}
}

// record counts one request the way siege does.
func (w *worker) record(resp response, err error, d time.Duration) {
	t := &w.t
	if err != nil {
		k := classify(err)
		t.errs[k]++
		if t.firstErr[k] == "" {
			t.firstErr[k] = err.Error()
		}
		w.c.failed.Add(1)
		return
	}
	code := resp.status
	t.statuses[code]++
	w.c.bytes.Add(resp.body)
	if t.responses == 0 || d < t.shortest {
		t.shortest = d
	}
	t.longest = max(t.longest, d)
	t.responses++
	t.respTime += d
	t.lat[t.nlat] = int64(d / time.Microsecond)
	if t.nlat++; t.nlat == latBatch {
		w.flush()
	}
	switch {
	case code >= 500 || code == 408:
		w.c.failed.Add(1)
	default:
		w.c.transactions.Add(1)
		if code < 400 || code == 401 || code == 407 {
			t.successful++
		}
	}
}

// flush moves the worker's batch of latencies into the shared histogram.
func (w *worker) flush() {
	if w.t.nlat > 0 {
		w.lat.add(w.t.lat[:w.t.nlat])
		w.t.nlat = 0
	}
}
