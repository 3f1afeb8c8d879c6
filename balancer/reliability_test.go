package balancer_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/testnet"
)

// loadShape is the load of the reliability tests: short by default, the
// issue's 64 connections for 20 s with ORCHARD_LONG=1.
func loadShape() (conns int, d time.Duration) {
	if os.Getenv("ORCHARD_LONG") != "" {
		return 64, 20 * time.Second
	}
	return 16, 3 * time.Second
}

// load runs GETs from conns goroutines until ctx ends and counts them.
type load struct {
	ok, failed atomic.Int64
	firstErr   atomic.Pointer[string]
	wg         sync.WaitGroup
}

func startLoad(ctx context.Context, addr string, conns int) *load {
	l := &load{}
	tr := &http.Transport{MaxIdleConnsPerHost: conns, DisableCompression: true}
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for i := 0; i < conns; i++ {
		l.wg.Add(1)
		go func(i int) {
			defer l.wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/p/%d", addr, n%50), nil)
				req.Host = siteHost
				resp, err := c.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					l.failed.Add(1)
					s := err.Error()
					l.firstErr.CompareAndSwap(nil, &s)
					continue
				}
				l.ok.Add(1)
			}
		}(i)
	}
	return l
}

func (l *load) wait(t *testing.T) {
	t.Helper()
	l.wg.Wait()
	if f := l.failed.Load(); f > 0 {
		t.Errorf("%d of %d requests failed; first: %s", f, f+l.ok.Load(), *l.firstErr.Load())
	}
	t.Logf("%d requests, none failed", l.ok.Load())
}

func TestKillMemberUnderLoad(t *testing.T) {
	conns, d := loadShape()
	bes := []*backend{newBackend(t, "n0", rel1), newBackend(t, "n1", rel1), newBackend(t, "n2", rel1)}
	b := mustOpen(t, cacheOpts(0, bes...))
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	l := startLoad(ctx, b.Addr(), conns)
	testnet.WaitFor(t, "traffic on n1", func() bool { return bes[1].hits.Load() > 100 })
	bes[1].close() // connections reset, listener gone: like a crash
	l.wait(t)
	if s := memberStatus(b, "n1").State; s != orchard.MemberError {
		t.Errorf("killed member's state %q", s)
	}
}

func TestDrainUnderLoad(t *testing.T) {
	conns, d := loadShape()
	bes := []*backend{newBackend(t, "n0", rel1), newBackend(t, "n1", rel1)}
	b := mustOpen(t, cacheOpts(0, bes...))
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	l := startLoad(ctx, b.Addr(), conns)
	testnet.WaitFor(t, "traffic on n1", func() bool { return bes[1].hits.Load() > 100 })
	if err := b.SetMember("web", "n1", "drain", 0); err != nil {
		t.Fatal(err)
	}
	// Requests already on their way finish; none start after that.
	testnet.WaitFor(t, "n1 idle", func() bool { return memberStatus(b, "n1").InFlight == 0 })
	after := bes[1].hits.Load()
	testnet.WaitFor(t, "more traffic on n0", func() bool { return bes[0].hits.Load() > after+200 })
	if got := bes[1].hits.Load(); got != after {
		t.Errorf("draining member got %d new requests", got-after)
	}
	b.SetMember("web", "n1", "disable", 0)
	l.wait(t)
}

func TestSlowloris(t *testing.T) {
	be := newBackend(t, "n0", rel1)
	o := cacheOpts(0, be)
	o.ReadHeaderTimeout = 2 * time.Second
	b := mustOpen(t, o)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 300; i++ {
		c, err := net.Dial("tcp", b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: a.test\r\nX-Slow-%d: ", i)
	}
	c := newClient()
	for i := 0; i < 20; i++ {
		if resp, _ := get(t, c, b.Addr(), "/"); resp.StatusCode != 200 {
			t.Fatalf("normal request %d during slowloris: %d", i, resp.StatusCode)
		}
	}
	// The slow connections are cut at the read timeout.
	buf := make([]byte, 1)
	conns[0].SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := conns[0].Read(buf); err == nil {
		// fasthttp may answer 408 first; either way the connection ends.
		io.Copy(io.Discard, conns[0])
	}
}
