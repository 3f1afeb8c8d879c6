package balancer_test

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/internal/testnet"
)

var (
	loopback1 = netip.MustParseAddr("127.0.0.1")
	loopback2 = netip.MustParseAddr("127.0.0.2")
)

// fetch sends one GET for host and path from the client address local and
// returns the status and the response head and body.
func fetch(t *testing.T, b *balancer.Balancer, local netip.Addr, host, path string) (int, string) {
	t.Helper()
	return raw(t, b.Addr(), local, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
}

// wantStatus checks the status of a GET from local.
func wantStatus(t *testing.T, b *balancer.Balancer, local netip.Addr, host, path string, want int) {
	t.Helper()
	if got, resp := fetch(t, b, local, host, path); got != want {
		t.Errorf("GET %s%s from %s: %d, want %d\n%s", host, path, local, got, want, resp)
	}
}

// statuses sends n GETs and counts them by status.
func statuses(t *testing.T, b *balancer.Balancer, n int) map[int]int {
	t.Helper()
	return tally(t, b, n, func(resp *http.Response) int { return resp.StatusCode })
}

// cacheHeader does GETs of one path until one is a cache hit (or 10 were
// not) and returns the last X-Orchard-Cache.
func cacheHeader(t *testing.T, b *balancer.Balancer) string {
	t.Helper()
	c := newClient()
	var v string
	for i := 0; i < 10 && v != "hit"; i++ {
		resp, _ := get(t, c, b.Addr(), "/cached")
		v = resp.Header.Get("X-Orchard-Cache")
	}
	return v
}

// cloneOptions copies o deeply enough that changing the copy's pools,
// members or vhosts leaves o alone.
func cloneOptions(o balancer.Options) balancer.Options {
	o.Pools = slices.Clone(o.Pools)
	for i := range o.Pools {
		o.Pools[i].Members = slices.Clone(o.Pools[i].Members)
	}
	o.VHosts = slices.Clone(o.VHosts)
	for i := range o.VHosts {
		o.VHosts[i].Deny = slices.Clone(o.VHosts[i].Deny)
		o.VHosts[i].Hosts = slices.Clone(o.VHosts[i].Hosts)
	}
	return o
}

// TestReloadApplies changes one reloadable setting per case and checks that
// the running balancer behaves by the new value, and that Reload names it.
func TestReloadApplies(t *testing.T) {
	cert1, key1 := selfSigned(t, t.TempDir())
	cert2, key2 := selfSigned(t, t.TempDir())
	tlsOn := func(o *balancer.Options) {
		o.TLSListen, o.TLSCert, o.TLSKey = "127.0.0.1:0", cert1, key1
	}
	onlyN0 := func(o *balancer.Options) { o.Pools[0].Members = o.Pools[0].Members[:1] }

	// everyRetried checks that n0's 503s all went on to n1.
	everyRetried := func(t *testing.T, b *balancer.Balancer, _ []*backend) {
		if got := statuses(t, b, 6); got[200] != 6 {
			t.Errorf("statuses %v, want every 503 retried on n1", got)
		}
	}
	tests := []struct {
		name    string
		start   func(o *balancer.Options, bs []*backend) // optional
		change  func(o *balancer.Options)
		applied string // the name Reload must report
		before  func(t *testing.T, b *balancer.Balancer, bs []*backend)
		after   func(t *testing.T, b *balancer.Balancer, bs []*backend)
	}{
		{
			// The bug this test was written for: the access list stayed
			// the one of the start.
			name:    "ManagerAllow",
			change:  func(o *balancer.Options) { o.ManagerAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} },
			applied: "ManagerAllow",
			before: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				wantStatus(t, b, loopback2, siteHost, balancer.DefaultManagerPath+"/json", 200)
			},
			after: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				wantStatus(t, b, loopback2, siteHost, balancer.DefaultManagerPath+"/json", 403)
				wantStatus(t, b, loopback1, siteHost, balancer.DefaultManagerPath+"/json", 200)
			},
		},
		{
			name:    "ManagerPath",
			change:  func(o *balancer.Options) { o.ManagerPath = "/mgr" },
			applied: "ManagerPath",
			after: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				if code, resp := fetch(t, b, loopback1, siteHost, "/mgr/json"); code != 200 || !strings.Contains(resp, `"pools"`) {
					t.Errorf("new manager path: %d\n%s", code, resp)
				}
				if _, resp := fetch(t, b, loopback1, siteHost, balancer.DefaultManagerPath+"/json"); strings.Contains(resp, `"pools"`) {
					t.Errorf("old manager path still serves the manager:\n%s", resp)
				}
			},
		},
		{
			name:    "Deny",
			change:  func(o *balancer.Options) { o.VHosts[0].Deny = []string{"/secret/*"} },
			applied: "VHosts",
			before: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				wantStatus(t, b, loopback1, siteHost, "/admin/x", 403)
			},
			after: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				wantStatus(t, b, loopback1, siteHost, "/admin/x", 200)
				wantStatus(t, b, loopback1, siteHost, "/secret/x", 403)
			},
		},
		{
			name: "DenyAllow",
			change: func(o *balancer.Options) {
				o.VHosts[0].DenyAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
			},
			applied: "VHosts",
			before: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				wantStatus(t, b, loopback2, siteHost, "/admin/x", 403)
			},
			after: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				wantStatus(t, b, loopback2, siteHost, "/admin/x", 200)
				wantStatus(t, b, loopback1, siteHost, "/admin/x", 403)
			},
		},
		{
			name:    "VHostHosts",
			change:  func(o *balancer.Options) { o.VHosts[0].Hosts = []string{"b.test"} },
			applied: "VHosts",
			after: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				wantStatus(t, b, loopback1, siteHost, "/x", http.StatusMisdirectedRequest)
				wantStatus(t, b, loopback1, "b.test", "/x", 200)
			},
		},
		{
			name:    "PoolMembers",
			change:  func(o *balancer.Options) { o.Pools[0].Members = o.Pools[0].Members[1:] },
			applied: "Pools",
			after: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				if got := shares(t, b, 6); got["n1"] != 6 {
					t.Errorf("shares %v, want every request on n1", got)
				}
			},
		},
		{
			name:    "Weights",
			change:  func(o *balancer.Options) { o.Pools[0].Members[0].Weight = 3 },
			applied: "Pools",
			after: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				if got := shares(t, b, 40); got["n0"] != 30 || got["n1"] != 10 {
					t.Errorf("shares %v, want n0 30, n1 10", got)
				}
			},
		},
		{
			name:    "Method",
			change:  func(o *balancer.Options) { o.Pools[0].Method = balancer.ByHash },
			applied: "Pools",
			after: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				if got := shares(t, b, 10); got["n0"] != 10 && got["n1"] != 10 {
					t.Errorf("shares %v, want one client on one member (hash)", got)
				}
			},
		},
		{
			name:    "Standby",
			change:  func(o *balancer.Options) { o.Pools[0].Members[1].Standby = true },
			applied: "Pools",
			after: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				if got := shares(t, b, 6); got["n0"] != 6 {
					t.Errorf("shares %v, want every request on n0 (n1 is a standby)", got)
				}
			},
		},
		{
			name: "FailOnStatus",
			start: func(o *balancer.Options, bs []*backend) {
				bs[0].status.Store(503)
			},
			change:  func(o *balancer.Options) { o.Pools[0].FailOnStatus = []int{503} },
			applied: "Pools",
			before: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				if got := statuses(t, b, 4); got[503] == 0 {
					t.Errorf("statuses %v, want n0's 503s passed through", got)
				}
			},
			after: everyRetried,
		},
		{
			name: "Retries",
			start: func(o *balancer.Options, bs []*backend) {
				bs[0].status.Store(503)
				o.Pools[0].FailOnStatus = []int{503}
				o.Retries = -1
				o.RetryAfter = time.Nanosecond // n0 is tried again at once
			},
			change:  func(o *balancer.Options) { o.Retries = 2 },
			applied: "Retries",
			before: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				if got := statuses(t, b, 4); got[503] == 0 {
					t.Errorf("statuses %v, want 503s without retries", got)
				}
			},
			after: everyRetried,
		},
		{
			name: "Health",
			start: func(o *balancer.Options, bs []*backend) {
				bs[0].healthy.Store(false)
				o.Health.Fall = 1000
			},
			change:  func(o *balancer.Options) { o.Health.Fall = 2 },
			applied: "Health",
			before: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				testnet.WaitFor(t, "n0's failed checks", func() bool { return len(memberStatus(b, "n0").Health) >= 3 })
				if s := memberStatus(b, "n0").State; s != orchard.MemberOK {
					t.Errorf("n0 %q after a few failed checks, want ok (fall 1000)", s)
				}
			},
			after: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				testnet.WaitFor(t, "n0 in error (fall 2)", func() bool { return memberStatus(b, "n0").State == orchard.MemberError })
			},
		},
		{
			name: "ResponseTimeout",
			start: func(o *balancer.Options, bs []*backend) {
				onlyN0(o)
				o.Retries = -1
				bs[0].delay.Store(int64(5 * time.Second))
			},
			change:  func(o *balancer.Options) { o.ResponseTimeout = 100 * time.Millisecond },
			applied: "ResponseTimeout",
			after: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				wantStatus(t, b, loopback1, siteHost, "/slow", http.StatusGatewayTimeout)
			},
		},
		{
			name:    "MaxResponseBytes",
			start:   func(o *balancer.Options, _ []*backend) { onlyN0(o) },
			change:  func(o *balancer.Options) { o.MaxResponseBytes = 8 },
			applied: "MaxResponseBytes",
			before: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				wantStatus(t, b, loopback1, siteHost, "/x", 200)
			},
			after: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				wantStatus(t, b, loopback1, siteHost, "/x", http.StatusBadGateway)
			},
		},
		{
			name:    "CacheBytesOn",
			change:  func(o *balancer.Options) { o.CacheBytes = 1 << 20 },
			applied: "CacheBytes",
			before: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				if v := cacheHeader(t, b); v != "" {
					t.Errorf("X-Orchard-Cache %q without a cache", v)
				}
			},
			after: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				if v := cacheHeader(t, b); v != "hit" {
					t.Errorf("X-Orchard-Cache %q, want a hit once the cache is on", v)
				}
			},
		},
		{
			name:    "CacheBytesResize",
			start:   func(o *balancer.Options, _ []*backend) { o.CacheBytes = 1 << 20 },
			change:  func(o *balancer.Options) { o.CacheBytes = 2 << 20 },
			applied: "CacheBytes",
			before: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				if v := cacheHeader(t, b); v != "hit" {
					t.Errorf("X-Orchard-Cache %q, want a hit", v)
				}
			},
			after: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				c := b.Status().Cache
				if c == nil || c.MaxBytes != 2<<20 || c.Entries == 0 {
					t.Errorf("cache after resize: %+v, want 2 MiB keeping its entries", c)
				}
			},
		},
		{
			name:    "CacheBytesOff",
			start:   func(o *balancer.Options, _ []*backend) { o.CacheBytes = 1 << 20 },
			change:  func(o *balancer.Options) { o.CacheBytes = 0 },
			applied: "CacheBytes",
			after: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				if v := cacheHeader(t, b); v != "" || b.Status().Cache != nil {
					t.Errorf("X-Orchard-Cache %q after the cache was turned off", v)
				}
			},
		},
		{
			name:    "RedirectHTTPS",
			start:   func(o *balancer.Options, _ []*backend) { tlsOn(o) },
			change:  func(o *balancer.Options) { o.RedirectHTTPS = true },
			applied: "RedirectHTTPS",
			before: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				wantStatus(t, b, loopback1, siteHost, "/x", 200)
			},
			after: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				wantStatus(t, b, loopback1, siteHost, "/x", http.StatusPermanentRedirect)
			},
		},
		{
			name:    "TLSCert",
			start:   func(o *balancer.Options, _ []*backend) { tlsOn(o) },
			change:  func(o *balancer.Options) { o.TLSCert, o.TLSKey = cert2, key2 },
			applied: "TLSCert",
			before: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				if !servesCert(t, b, cert1) {
					t.Errorf("the TLS listener does not serve %s", cert1)
				}
			},
			after: func(t *testing.T, b *balancer.Balancer, _ []*backend) {
				if !servesCert(t, b, cert2) {
					t.Errorf("the TLS listener does not serve the reloaded %s", cert2)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bs := []*backend{newBackend(t, "n0", rel1), newBackend(t, "n1", rel1)}
			o := onePool("", bs[0].member(1), bs[1].member(1))
			o.Health = balancer.HealthOptions{Interval: 50 * time.Millisecond, Timeout: 40 * time.Millisecond, Rise: 2, Fall: 2}
			if tt.start != nil {
				tt.start(&o, bs)
			}
			b := mustOpen(t, o)
			if tt.before != nil {
				tt.before(t, b, bs)
			}
			n := cloneOptions(o)
			tt.change(&n)
			res, err := b.Reload(n)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(res.Applied, tt.applied) || len(res.Restart) != 0 {
				t.Errorf("reload result %+v, want %s applied and nothing left for a restart", res, tt.applied)
			}
			tt.after(t, b, bs)
		})
	}
}

// servesCert reports whether the TLS listener presents the certificate in
// the PEM file certFile.
func servesCert(t *testing.T, b *balancer.Balancer, certFile string) bool {
	t.Helper()
	data, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(data)
	c, err := tls.Dial("tcp", b.TLSAddr(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return bytes.Equal(c.ConnectionState().PeerCertificates[0].Raw, blk.Bytes)
}

// TestReloadNamesRestartSettings changes settings a running balancer
// cannot take and checks that Reload names each one and keeps it at its
// running value, while applying the rest of the same reload.
func TestReloadNamesRestartSettings(t *testing.T) {
	be := newBackend(t, "n0", rel1)
	o := onePool("", be.member(1))
	o.Health = balancer.HealthOptions{Interval: 50 * time.Millisecond, Timeout: 40 * time.Millisecond, Rise: 2, Fall: 2}
	o.DrainTimeout = 2 * time.Second
	o.Control = "127.0.0.1:0"
	b := mustOpen(t, o)
	addr, ctl := b.Addr(), b.ControlAddr()

	if res, err := b.Reload(cloneOptions(o)); err != nil || len(res.Applied)+len(res.Restart) != 0 {
		t.Fatalf("reload of the same options: %+v, %v; want nothing changed", res, err)
	}

	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	tests := []struct {
		name   string
		change func(o *balancer.Options)
	}{
		{"Listen", func(o *balancer.Options) { o.Listen = "127.0.0.1:1" }},
		{"TLSListen", func(o *balancer.Options) { o.TLSListen, o.TLSCert, o.TLSKey = "127.0.0.1:0", cert, key }},
		{"Control", func(o *balancer.Options) { o.Control = "127.0.0.1:2" }},
		{"DataDir", func(o *balancer.Options) { o.DataDir = dir }},
		{"MaxConns", func(o *balancer.Options) { o.MaxConns = 7 }},
		{"ReadHeaderTimeout", func(o *balancer.Options) { o.ReadHeaderTimeout = time.Minute }},
		{"IdleTimeout", func(o *balancer.Options) { o.IdleTimeout = 2 * time.Minute }},
		{"WriteTimeout", func(o *balancer.Options) { o.WriteTimeout = 2 * time.Minute }},
		{"MaxHeaderBytes", func(o *balancer.Options) { o.MaxHeaderBytes = 1 << 10 }},
		{"MaxRequestBytes", func(o *balancer.Options) { o.MaxRequestBytes = 1 << 10 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := cloneOptions(o)
			tt.change(&n)
			n.ManagerAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
			res, err := b.Reload(n)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(res.Restart, tt.name) || slices.Contains(res.Applied, tt.name) {
				t.Errorf("reload result %+v, want %s named as needing a restart", res, tt.name)
			}
			// The rest of the reload applies.
			wantStatus(t, b, loopback2, siteHost, balancer.DefaultManagerPath+"/json", 403)
			if b.Addr() != addr || b.ControlAddr() != ctl {
				t.Errorf("listeners moved: %s %s, want %s %s", b.Addr(), b.ControlAddr(), addr, ctl)
			}
			wantStatus(t, b, loopback1, siteHost, "/x", 200)
			// Back to the start, so each case changes one setting.
			if _, err := b.Reload(cloneOptions(o)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
