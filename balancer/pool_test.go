package balancer_test

import (
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/internal/testnet"
)

// shares sends n GETs and counts them by member.
func shares(t *testing.T, b *balancer.Balancer, n int) map[string]int {
	t.Helper()
	return tally(t, b, n, func(resp *http.Response) string {
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return resp.Header.Get("X-Member")
	})
}

// tally sends n GETs of / and counts the responses by key.
func tally[K comparable](t *testing.T, b *balancer.Balancer, n int, key func(*http.Response) K) map[K]int {
	t.Helper()
	c := newClient()
	got := map[K]int{}
	for range n {
		resp, _ := get(t, c, b.Addr(), "/")
		got[key(resp)]++
	}
	return got
}

func TestByRequestsWeights(t *testing.T) {
	b0, b1, b2 := newBackend(t, "n0", "0123456789abcdef"), newBackend(t, "n1", "0123456789abcdef"), newBackend(t, "n2", "0123456789abcdef")
	b := mustOpen(t, onePool(balancer.ByRequests, b0.member(1), b1.member(2), b2.member(3)))
	got := shares(t, b, 600)
	if got["n0"] != 100 || got["n1"] != 200 || got["n2"] != 300 {
		t.Errorf("shares %v, want n0 100, n1 200, n2 300", got)
	}
}

func TestMethods(t *testing.T) {
	for _, method := range []string{balancer.ByTraffic, balancer.ByBusyness} {
		t.Run(method, func(t *testing.T) {
			b0, b1 := newBackend(t, "n0", "0123456789abcdef"), newBackend(t, "n1", "0123456789abcdef")
			b := mustOpen(t, onePool(method, b0.member(1), b1.member(1)))
			got := shares(t, b, 200)
			if got["n0"] < 80 || got["n1"] < 80 {
				t.Errorf("shares %v, want about half each", got)
			}
		})
	}
	t.Run("hash", func(t *testing.T) {
		b0, b1 := newBackend(t, "n0", "0123456789abcdef"), newBackend(t, "n1", "0123456789abcdef")
		b := mustOpen(t, onePool(balancer.ByHash, b0.member(1), b1.member(1)))
		got := shares(t, b, 50)
		if len(got) != 1 {
			t.Errorf("one client spread over %v, want one member", got)
		}
	})
}

func TestStandbyAndStates(t *testing.T) {
	b0, b1 := newBackend(t, "n0", "0123456789abcdef"), newBackend(t, "n1", "0123456789abcdef")
	sb := b1.member(1)
	sb.Standby = true
	b := mustOpen(t, onePool("", b0.member(1), sb))
	if got := shares(t, b, 20); got["n0"] != 20 {
		t.Fatalf("with n0 usable: %v, want all on n0", got)
	}
	if err := b.SetMember("web", "n0", "disable", 0); err != nil {
		t.Fatal(err)
	}
	if got := shares(t, b, 20); got["n1"] != 20 {
		t.Fatalf("n0 disabled: %v, want all on the standby", got)
	}
	if s := memberStatus(b, "n0").State; s != orchard.MemberDisabled {
		t.Errorf("state %q", s)
	}
	b.SetMember("web", "n0", "drain", 0)
	if got := shares(t, b, 20); got["n1"] != 20 {
		t.Fatalf("n0 draining: %v, want all on the standby", got)
	}
	b.SetMember("web", "n0", "enable", 0)
	if got := shares(t, b, 20); got["n0"] != 20 {
		t.Fatalf("n0 enabled: %v", got)
	}
	if err := b.SetMember("web", "nope", "disable", 0); orchard.ErrorCode(err) != orchard.ENOTFOUND {
		t.Errorf("unknown member: %v", err)
	}
	if err := b.SetMember("web", "n0", "weight", 101); orchard.ErrorCode(err) != orchard.EINVALID {
		t.Errorf("weight 101: %v", err)
	}
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestRetryAndPassiveFailure(t *testing.T) {
	b0 := newBackend(t, "n0", "0123456789abcdef")
	// Healthy by its checks, but nothing listens for traffic.
	dead := newBackend(t, "dead", "0123456789abcdef").member(1)
	dead.Addr = deadAddr(t)
	o := onePool("", dead, b0.member(1))
	o.RetryAfter = time.Hour
	// Passing health checks clear a passive error: with checks every 50
	// ms they could clear it before the test looks on a busy machine.
	o.Health = balancer.HealthOptions{Interval: time.Hour, Timeout: 5 * time.Second, Rise: 2, Fall: 2}
	b := mustOpen(t, o)
	if got := shares(t, b, 10); got["n0"] != 10 {
		t.Fatalf("shares %v", got)
	}
	st := memberStatus(b, "dead")
	if st.State != orchard.MemberError || st.Errors != 1 {
		t.Errorf("dead member: state %q, errors %d; want error after one failure", st.State, st.Errors)
	}
	if b.Status().Failed != 0 {
		t.Errorf("clients saw %d failures", b.Status().Failed)
	}
}

func TestFailOnStatus(t *testing.T) {
	b0, b1 := newBackend(t, "n0", "0123456789abcdef"), newBackend(t, "n1", "0123456789abcdef")
	b0.status.Store(503)
	o := onePool("", b0.member(1), b1.member(1))
	o.Pools[0].FailOnStatus = []int{503}
	o.RetryAfter = time.Hour
	// Passing health checks clear a member's error: with checks every 50
	// ms they could clear n0's before the test looks on a busy machine.
	o.Health = balancer.HealthOptions{Interval: time.Hour, Timeout: 5 * time.Second, Rise: 2, Fall: 2}
	b := mustOpen(t, o)
	if got := shares(t, b, 10); got["n1"] != 10 {
		t.Fatalf("shares %v", got)
	}
	if s := memberStatus(b, "n0").State; s != orchard.MemberError {
		t.Errorf("n0 state %q", s)
	}
}

func TestHealthChecks(t *testing.T) {
	b0, b1 := newBackend(t, "n0", "0123456789abcdef"), newBackend(t, "n1", "0123456789abcdef")
	b := mustOpen(t, onePool("", b0.member(1), b1.member(1)))
	testnet.WaitFor(t, "first checks", func() bool { return len(memberStatus(b, "n0").Health) >= 2 })
	b0.healthy.Store(false)
	testnet.WaitFor(t, "n0 in error", func() bool { return memberStatus(b, "n0").State == orchard.MemberError })
	if got := shares(t, b, 10); got["n1"] != 10 {
		t.Fatalf("n0 down: %v", got)
	}
	h := memberStatus(b, "n0").Health
	if last := h[len(h)-1]; last.OK || last.Error == "" {
		t.Errorf("history's last check %+v, want a failure with its error", last)
	}
	b0.healthy.Store(true)
	testnet.WaitFor(t, "n0 back", func() bool { return memberStatus(b, "n0").State == orchard.MemberOK })

	// Every member in error: try them anyway (forcerecovery).
	b0.healthy.Store(false)
	b1.healthy.Store(false)
	testnet.WaitFor(t, "both in error", func() bool {
		return memberStatus(b, "n0").State == orchard.MemberError && memberStatus(b, "n1").State == orchard.MemberError
	})
	if got := shares(t, b, 10); got["n0"]+got["n1"] != 10 {
		t.Fatalf("forcerecovery: %v", got)
	}
}

func TestQueue(t *testing.T) {
	b0 := newBackend(t, "n0", "0123456789abcdef")
	b0.block = make(chan struct{})
	o := onePool("", b0.member(1))
	o.Pools[0].MaxInFlight = 1
	o.Pools[0].QueueSize = 1
	o.Pools[0].QueueTimeout = 300 * time.Millisecond
	b := mustOpen(t, o)
	c := newClient()
	var wg sync.WaitGroup
	codes := make(chan int, 2)
	for i := 0; i < 2; i++ { // one in flight, one queued
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, "http://"+b.Addr()+"/", nil)
			req.Host = siteHost
			resp, err := c.Do(req)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	testnet.WaitFor(t, "one in flight, one queued", func() bool {
		s := b.Status().Pools[0]
		return s.Members[0].InFlight == 1 && s.Queued == 1
	})
	resp, _ := get(t, c, b.Addr(), "/") // queue full
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("queue full: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	close(b0.block)
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != 200 {
			t.Errorf("in flight or queued request: %d", code)
		}
	}
	// A queued request that waits too long gets 503.
	b0.block = nil
	b0.delay.Store(int64(time.Second))
	go func() {
		req, _ := http.NewRequest(http.MethodGet, "http://"+b.Addr()+"/", nil)
		req.Host = siteHost
		if resp, err := newClient().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	testnet.WaitFor(t, "one in flight", func() bool { return b.Status().Pools[0].Members[0].InFlight == 1 })
	resp, _ = get(t, c, b.Addr(), "/")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("queue timeout: %d", resp.StatusCode)
	}
}

func TestSlowStart(t *testing.T) {
	b0, b1 := newBackend(t, "n0", "0123456789abcdef"), newBackend(t, "n1", "0123456789abcdef")
	o := onePool("", b0.member(1), b1.member(1))
	o.Pools[0].SlowStart = time.Hour // stays at its start for the test
	b := mustOpen(t, o)
	b0.healthy.Store(false)
	testnet.WaitFor(t, "n0 in error", func() bool { return memberStatus(b, "n0").State == orchard.MemberError })
	b0.healthy.Store(true)
	testnet.WaitFor(t, "n0 back", func() bool { return memberStatus(b, "n0").State == orchard.MemberOK })
	got := shares(t, b, 110)
	if got["n0"] > 15 {
		t.Errorf("n0 just recovered took %v, want about a tenth", got)
	}
}
