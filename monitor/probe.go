package monitor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/orchardhq/orchard"
)

// ProbeTarget is one URL the probe watches.
type ProbeTarget struct {
	URL    string // absolute http or https URL
	Method string // default HEAD
	Host   string // Host header to send instead of the URL's; "" = the URL's
}

// Result is one probe of one URL. Durations are zero when the phase did not
// happen (no DNS for an IP address, no TLS over http, a reused connection).
type Result struct {
	URL       string
	At        time.Time // when the request started
	Status    int       // HTTP status; 0 when no response came
	Err       string    // why it failed; "" when a response came
	DNS       time.Duration
	Connect   time.Duration
	TLS       time.Duration
	FirstByte time.Duration // from the start to the first response byte
	Total     time.Duration // from the start to the end of the body
}

// OK reports whether the probe got a response with a status below 400.
func (r Result) OK() bool { return r.Err == "" && r.Status > 0 && r.Status < 400 }

// String is the one-line form orchard probe prints.
func (r Result) String() string {
	state := fmt.Sprint(r.Status)
	if r.Err != "" {
		state = "FAIL " + r.Err
	} else if !r.OK() {
		state = fmt.Sprintf("FAIL %d", r.Status)
	}
	return fmt.Sprintf("%s %s %s dns=%s connect=%s tls=%s first_byte=%s total=%s",
		r.At.UTC().Format(time.RFC3339), r.URL, state, ms(r.DNS), ms(r.Connect), ms(r.TLS), ms(r.FirstByte), ms(r.Total))
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
}

// maxProbeBody is how much of a response body a probe reads (and times).
const maxProbeBody = 4 << 20

// Check requests t once with a fresh connection (so DNS, connect and TLS are
// measured every time) and returns what happened; it never returns an error:
// failures are in Result.Err.
func Check(ctx context.Context, t ProbeTarget, timeout time.Duration) Result {
	timeout = orchard.OrDefault(timeout, 10*time.Second)
	method := t.Method
	if method == "" {
		method = http.MethodHead
	}
	res := Result{URL: t.URL, At: time.Now()}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var dnsStart, connStart, tlsStart time.Time
	var mu sync.Mutex // trace hooks may run on other goroutines (happy eyeballs)
	trace := &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { mu.Lock(); dnsStart = time.Now(); mu.Unlock() },
		DNSDone: func(httptrace.DNSDoneInfo) {
			mu.Lock()
			if !dnsStart.IsZero() {
				res.DNS = time.Since(dnsStart)
			}
			mu.Unlock()
		},
		ConnectStart: func(string, string) { mu.Lock(); connStart = time.Now(); mu.Unlock() },
		ConnectDone: func(_, _ string, err error) {
			mu.Lock()
			if err == nil && !connStart.IsZero() {
				res.Connect = time.Since(connStart)
			}
			mu.Unlock()
		},
		TLSHandshakeStart: func() { mu.Lock(); tlsStart = time.Now(); mu.Unlock() },
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			mu.Lock()
			if !tlsStart.IsZero() {
				res.TLS = time.Since(tlsStart)
			}
			mu.Unlock()
		},
		GotFirstResponseByte: func() { mu.Lock(); res.FirstByte = time.Since(res.At); mu.Unlock() },
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, t.URL, nil)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	if t.Host != "" {
		req.Host = t.Host
	}
	req.Header.Set("User-Agent", "orchard-probe/1")
	dialer := &net.Dialer{}
	tr := &http.Transport{
		Proxy: nil,
		// *.localhost goes to loopback as in bench and browsers (RFC 6761);
		// DNS time is then zero, which is what such a name costs.
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, orchard.LoopbackDialAddr(addr))
		},
		DisableKeepAlives:   true,
		TLSHandshakeTimeout: timeout,
		ForceAttemptHTTP2:   true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		// A redirect is an answer: report it rather than follow it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		mu.Lock()
		res.Err = shortError(err)
		res.Total = time.Since(res.At)
		mu.Unlock()
		return res
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeBody))
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	res.Status = resp.StatusCode
	res.Total = time.Since(res.At)
	if err != nil {
		res.Err = "reading body: " + shortError(err)
	}
	return res
}

func shortError(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}

// ProbeOptions configures a Prober.
type ProbeOptions struct {
	Targets   []ProbeTarget
	Every     time.Duration // time between checks of one URL; default 5m
	Timeout   time.Duration // per request; default 10s
	FailAfter int           // consecutive failures before a URL is down; default 3
	DB        *ProbeDB      // where results go; nil = nowhere
	// OnResult is called after every check (e.g. to print it).
	OnResult func(Result)
	// OnChange is called when a URL goes down (FailAfter consecutive
	// failures) or comes back up (the first success after that).
	OnChange func(ctx context.Context, r Result, down bool)
	Logger   *slog.Logger
}

// Prober checks URLs on a schedule. Create it with NewProber and call Run.
type Prober struct {
	opts ProbeOptions
	mu   sync.Mutex
	fail map[string]int  // URL -> consecutive failures
	down map[string]bool // URL -> reported down
	ever bool            // some URL went down
}

// NewProber returns a prober with defaults filled in; it does no I/O.
func NewProber(o ProbeOptions) *Prober {
	o.Every = orchard.OrDefault(o.Every, 5*time.Minute)
	o.Timeout = orchard.OrDefault(o.Timeout, 10*time.Second)
	o.FailAfter = orchard.OrDefault(o.FailAfter, 3)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Prober{opts: o, fail: map[string]int{}, down: map[string]bool{}}
}

// Run checks every target now and then every Every until ctx is done. It
// returns nil when ctx ends (the usual way to stop) or the first error
// writing to the database.
func (p *Prober) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errc := make(chan error, len(p.opts.Targets))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i, t := range p.opts.Targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the first checks a little so many URLs do not start together.
			if i > 0 {
				stagger := time.Duration(i) * 200 * time.Millisecond % p.opts.Every
				select {
				case <-ctx.Done():
					return
				case <-time.After(stagger):
				}
			}
			tick := time.NewTicker(p.opts.Every)
			defer tick.Stop()
			for {
				if err := p.checkOnce(ctx, t); err != nil {
					errc <- err
					cancel()
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

func (p *Prober) checkOnce(ctx context.Context, t ProbeTarget) error {
	r := Check(ctx, t, p.opts.Timeout)
	if ctx.Err() != nil {
		return nil // stopped mid-request: not a result
	}
	if p.opts.DB != nil {
		if err := p.opts.DB.Add(ctx, r); err != nil && ctx.Err() == nil {
			return err
		}
	}
	if p.opts.OnResult != nil {
		p.opts.OnResult(r)
	}
	p.mu.Lock()
	var change, down bool
	if r.OK() {
		p.fail[t.URL] = 0
		if p.down[t.URL] {
			p.down[t.URL], change, down = false, true, false
		}
	} else {
		p.fail[t.URL]++
		if p.fail[t.URL] == p.opts.FailAfter && !p.down[t.URL] {
			p.down[t.URL], change, down = true, true, true
			p.ever = true
		}
	}
	n := p.fail[t.URL]
	p.mu.Unlock()
	if change {
		if down {
			p.opts.Logger.Warn("URL is down", "url", t.URL, "consecutive_failures", n, "last", r.Err, "status", r.Status)
		} else {
			p.opts.Logger.Info("URL is back up", "url", t.URL, "status", r.Status)
		}
		if p.opts.OnChange != nil {
			p.opts.OnChange(ctx, r, down)
		}
	}
	return nil
}

// WentDown reports whether any URL reached FailAfter consecutive failures
// since the prober was made.
func (p *Prober) WentDown() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ever
}

// Down returns the URLs currently down.
func (p *Prober) Down() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, t := range p.opts.Targets {
		if p.down[t.URL] {
			out = append(out, t.URL)
		}
	}
	return out
}
