package bench

import (
	"crypto/tls"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
)

// Defaults used by Run when a Config field is zero.
const (
	// DefaultConcurrency is siege 4.0.7's default number of users.
	DefaultConcurrency = 25
	// DefaultTimeout is siege's socket timeout.
	DefaultTimeout = 30 * time.Second
	// DefaultUserAgent is sent unless a User-Agent header is given.
	DefaultUserAgent = "orchard-bench/1"
	// DefaultContentType is siege's content type for POST and PUT bodies.
	DefaultContentType = "application/x-www-form-urlencoded"
	// MaxConcurrency bounds Config.Concurrency.
	MaxConcurrency = 100000
)

// Target is one request a user makes: a method, an absolute http or https URL
// and an optional body.
type Target struct {
	// Method is the request method; empty means GET.
	Method string
	// URL is absolute, with scheme http or https.
	URL string
	// Body is sent with Content-Length; nil sends no body.
	Body []byte
	// ContentType is sent with a body; empty means DefaultContentType.
	ContentType string
}

// Header is one extra request header.
type Header struct {
	Name, Value string
}

// Config says what load to generate. The zero value of every field but URLs
// is usable: 25 users, no delay, running until ctx is cancelled.
type Config struct {
	// URLs are the requests users make, in order (each user starts at its
	// own offset, as siege does) or at random when Random is set.
	URLs []Target
	// Concurrency is the number of simulated users, each with its own
	// connection (default DefaultConcurrency). With Rate it is the number of
	// connections that carry the scheduled requests.
	Concurrency int
	// Duration stops the run after this long (0: no time limit).
	Duration time.Duration
	// Reps stops each user after this many requests (0: no limit). With Rate,
	// the run stops after Reps*Concurrency requests.
	Reps int
	// Delay is the most a user waits, uniformly at random, between two of its
	// requests (siege's -d; 0 is siege's -b benchmark mode).
	Delay time.Duration
	// Rate, when positive, switches to the open model: requests start at fixed
	// intended times, Rate per second in total, and latency is measured from
	// the intended start, so a slow server cannot hide its queueing
	// (no coordinated omission).
	Rate float64
	// Headers are added to every request. A Host header replaces the URL's
	// host in the request (the connection still goes to the URL's address).
	Headers []Header
	// Host, when set, is the Host header of every request (overrides Headers).
	Host string
	// Random picks each request's URL at random (siege's --internet).
	Random bool
	// NoKeepAlive opens a new connection for every request and sends
	// "Connection: close"; by default connections are reused (keep-alive).
	NoKeepAlive bool
	// TLS configures https connections; nil verifies servers against the
	// system's roots. ServerName is set from the Host header or the URL.
	TLS *tls.Config
	// Timeout bounds each request: connect, send and the whole response
	// (default DefaultTimeout).
	Timeout time.Duration
	// ProgressInterval is how often Run calls its progress function
	// (default 500ms).
	ProgressInterval time.Duration
}

// withDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ProgressInterval == 0 {
		c.ProgressInterval = 500 * time.Millisecond
	}
	return c
}

// Validate reports the first problem with c, naming the field.
func (c Config) Validate() error {
	if len(c.URLs) == 0 {
		return fmt.Errorf("no URLs to request")
	}
	switch {
	case c.Concurrency < 0 || c.Concurrency > MaxConcurrency:
		return fmt.Errorf("concurrency %d: want 1..%d", c.Concurrency, MaxConcurrency)
	case c.Duration < 0:
		return fmt.Errorf("duration %v is negative", c.Duration)
	case c.Reps < 0:
		return fmt.Errorf("reps %d is negative", c.Reps)
	case c.Delay < 0:
		return fmt.Errorf("delay %v is negative", c.Delay)
	case c.Rate < 0 || c.Rate > 1e7 || math.IsNaN(c.Rate):
		return fmt.Errorf("rate %v: want 0..10000000 requests/s", c.Rate)
	case c.Rate > 0 && c.Delay > 0:
		return fmt.Errorf("a delay and a fixed rate do not mix: the rate sets when requests start")
	case c.Timeout < 0:
		return fmt.Errorf("timeout %v is negative", c.Timeout)
	}
	for i, t := range c.URLs {
		if err := t.validate(); err != nil {
			return fmt.Errorf("URL %d: %w", i+1, err)
		}
	}
	for _, h := range c.Headers {
		if err := h.validate(); err != nil {
			return err
		}
	}
	if c.Host != "" {
		if err := validHeaderValue(c.Host); err != nil || strings.ContainsAny(c.Host, " \t/") {
			return fmt.Errorf("host %q is not a valid Host header", c.Host)
		}
	}
	return nil
}

func (t Target) validate() error {
	if t.Method != "" && !isToken(t.Method) {
		return fmt.Errorf("method %q is not a valid HTTP method", t.Method)
	}
	if _, err := parseTargetURL(t.URL); err != nil {
		return err
	}
	if err := validHeaderValue(t.ContentType); err != nil {
		return fmt.Errorf("content type: %w", err)
	}
	return nil
}

// parseTargetURL parses an absolute http or https URL with a host.
func parseTargetURL(s string) (*url.URL, error) {
	if strings.ContainsAny(s, " \t\r\n\x00") {
		return nil, fmt.Errorf("URL %q contains white space or control characters", s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("URL %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q: want an http:// or https:// URL", s)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("URL %q has no host", s)
	}
	if u.User != nil {
		return nil, fmt.Errorf("URL %q: user information in URLs is not supported; use -H 'Authorization: ...'", s)
	}
	return u, nil
}

// ParseHeader parses "Name: value" as given to siege's -H.
func ParseHeader(s string) (Header, error) {
	name, value, ok := strings.Cut(s, ":")
	if !ok {
		return Header{}, fmt.Errorf("header %q: want 'Name: value'", s)
	}
	h := Header{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)}
	return h, h.validate()
}

func (h Header) validate() error {
	if !isToken(h.Name) {
		return fmt.Errorf("header name %q is not valid", h.Name)
	}
	if err := validHeaderValue(h.Value); err != nil {
		return fmt.Errorf("header %s: %w", h.Name, err)
	}
	if strings.EqualFold(h.Name, "Host") && (h.Value == "" || strings.ContainsAny(h.Value, " \t/")) {
		return fmt.Errorf("header Host: %q is not a host", h.Value)
	}
	for _, n := range []string{"Content-Length", "Transfer-Encoding", "Connection"} {
		if strings.EqualFold(h.Name, n) {
			return fmt.Errorf("header %s is set by the generator itself", h.Name)
		}
	}
	return nil
}

func validHeaderValue(v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return fmt.Errorf("value %q contains a control character", v)
		}
	}
	return nil
}

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
