package balancer_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/internal/testnet"
)

// backend is a fake web node on loopback: a traffic server that answers
// every path with its name and release (and X-Orchard-Release), and a
// control server with orchard.HealthPath. Tests steer it with its fields.
type backend struct {
	name    string
	srv     *http.Server
	ctl     *http.Server
	ln, cln net.Listener

	release  atomic.Pointer[string] // served release id
	healthy  atomic.Bool            // health answers ok
	status   atomic.Int32           // traffic status; 0 = 200
	hits     atomic.Int64           // traffic requests served
	delay    atomic.Int64           // ns to wait before answering
	block    chan struct{}          // if non-nil, requests wait on it
	cookie   atomic.Bool            // add Set-Cookie
	cacheCtl atomic.Pointer[string] // Cache-Control; default "public, max-age=60"
	lastReq  atomic.Pointer[http.Request]
	mu       sync.Mutex
	lastHdr  http.Header
}

const siteHost = "a.test"

var nilAddr netip.Addr

func newBackend(t testing.TB, name, release string) *backend {
	t.Helper()
	b := &backend{name: name}
	b.release.Store(&release)
	b.healthy.Store(true)
	cc := "public, max-age=60"
	b.cacheCtl.Store(&cc)
	var err error
	b.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.cln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.srv = &http.Server{Handler: http.HandlerFunc(b.serve), ReadHeaderTimeout: 5 * time.Second}
	b.ctl = &http.Server{Handler: http.HandlerFunc(b.health), ReadHeaderTimeout: 5 * time.Second}
	go b.srv.Serve(b.ln)
	go b.ctl.Serve(b.cln)
	t.Cleanup(b.close)
	return b
}

func (b *backend) close() {
	b.srv.Close()
	b.ctl.Close()
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	b.hits.Add(1)
	b.mu.Lock()
	b.lastHdr = r.Header.Clone()
	b.lastHdr.Set("Host", r.Host)
	b.lastHdr.Set("X-Request-Uri", r.RequestURI)
	b.mu.Unlock()
	if d := b.delay.Load(); d > 0 {
		time.Sleep(time.Duration(d))
	}
	if b.block != nil {
		<-b.block
	}
	rel := *b.release.Load()
	h := w.Header()
	h.Set(orchard.ReleaseHeader, rel)
	h.Set("X-Member", b.name)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", *b.cacheCtl.Load())
	h.Set("Keep-Alive", "timeout=5")
	h.Set("Connection", "X-Private")
	h.Set("X-Private", "secret")
	if b.cookie.Load() {
		h.Set("Set-Cookie", "a=b")
	}
	body := fmt.Sprintf("%s %s %s %s", b.name, rel, r.Host, r.URL.Path)
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip") // a fake, but the cache only cares about the header
		body = "gz:" + body
	}
	h.Set("Vary", "Accept-Encoding")
	h.Set("ETag", `"`+rel+r.URL.Path+`"`)
	st := int(b.status.Load())
	if st == 0 {
		st = 200
	}
	w.WriteHeader(st)
	io.WriteString(w, body)
}

func (b *backend) health(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != orchard.HealthPath || !b.healthy.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	json.NewEncoder(w).Encode(orchard.Health{OK: true, Role: "node", Name: b.name,
		Releases: map[string]string{siteHost: *b.release.Load()}})
}

func (b *backend) header() http.Header {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastHdr.Clone()
}

func (b *backend) member(weight int) orchard.Member {
	return orchard.Member{Name: b.name, Addr: b.ln.Addr().String(), HealthAddr: b.cln.Addr().String(), Weight: weight}
}

// mustOpen starts a balancer on 127.0.0.1:0 and closes it with the test.
func mustOpen(t testing.TB, o balancer.Options) *balancer.Balancer {
	t.Helper()
	if o.Health.Interval == 0 {
		// Checks often, so tests see state changes soon, with room for a
		// busy machine: a 40 ms timeout and two misses took healthy
		// members out under load.
		o.Health = balancer.HealthOptions{Interval: 100 * time.Millisecond, Timeout: 100 * time.Millisecond, Rise: 2, Fall: 3}
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = 2 * time.Second
	}
	b := balancer.New(o)
	if err := b.Listen(context.Background()); err != nil {
		b.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	// Members take a site's requests once a health check has told which
	// release they hold: wait for every member's first check.
	for _, p := range o.Pools {
		for _, m := range p.Members {
			if m.HealthAddr != "" {
				testnet.WaitFor(t, m.Name+"'s first health check", func() bool { return len(memberStatus(b, m.Name).Health) > 0 })
			}
		}
	}
	return b
}

// onePool returns options with one pool of the given members and "*".
func onePool(method string, ms ...orchard.Member) balancer.Options {
	return balancer.Options{
		Pools:  []balancer.Pool{{Name: "web", Method: method, Members: ms}},
		VHosts: []balancer.VHost{{Hosts: []string{"*"}, Pool: "web", Deny: []string{"/admin/*"}}},
	}
}

// get does a GET through the balancer with Host a.test.
func get(t testing.TB, c *http.Client, addr, path string) (*http.Response, string) {
	t.Helper()
	return getURL(t, c, "http://"+addr+path)
}

// getURL does a GET of rawURL with Host a.test and reads the whole body.
func getURL(t testing.TB, c *http.Client, rawURL string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	req.Host = siteHost
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// raw sends bytes on a fresh connection (from local, if valid) and
// returns the status line's code and the whole response head.
func raw(t testing.TB, addr string, local netip.Addr, req string) (int, string) {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second}
	if local.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: local.AsSlice()}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response to %q: %v", req, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var sb strings.Builder
	resp.Header.Write(&sb)
	return resp.StatusCode, sb.String() + "\n" + string(body)
}

func memberStatus(b *balancer.Balancer, name string) balancer.MemberStatus {
	for _, p := range b.Status().Pools {
		for _, m := range p.Members {
			if m.Name == name {
				return m
			}
		}
	}
	return balancer.MemberStatus{}
}

func newClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
