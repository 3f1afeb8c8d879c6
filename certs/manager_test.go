package certs_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/certs"
	"github.com/orchardhq/orchard/internal/pebbletest"
	"github.com/orchardhq/orchard/internal/selfsigned"
	"github.com/orchardhq/orchard/internal/testnet"
	"github.com/orchardhq/orchard/publish"
)

var secret = []byte("certs-manager-test-secret-0123456789")

// sites is the store as the manager reads it.
type sites struct {
	mu   sync.Mutex
	list []*orchard.Site
}

func (s *sites) Sites(context.Context) ([]*orchard.Site, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*orchard.Site, len(s.list))
	for i, x := range s.list {
		c := *x
		c.Aliases = slices.Clone(x.Aliases)
		out[i] = &c
	}
	return out, nil
}

func (s *sites) put(host string, aliases ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = slices.DeleteFunc(s.list, func(x *orchard.Site) bool { return x.Host == host })
	s.list = append(s.list, &orchard.Site{Host: host, Aliases: aliases})
}

func (s *sites) drop(host string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = slices.DeleteFunc(s.list, func(x *orchard.Site) bool { return x.Host == host })
}

// clock is the manager's clock: the real one moved by offset.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// setTo moves the clock so that now is t.
func (c *clock) setTo(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = time.Until(t)
}

// cluster is a certificate manager, the balancers it feeds, a node-like
// backend that answers "page of HOST", and an ACME CA.
type cluster struct {
	t        *testing.T
	ca       *pebbletest.CA
	sites    *sites
	clock    *clock
	dir      string
	settings string
	bals     []*balancer.Balancer
	ctlAddrs []string // control address of each balancer, also those not started
	mgr      *certs.Manager
	member   orchard.Member
	perRound int // Options.OrdersPerRound of the next newManager
}

// newCluster starts n balancers (the last one's plain port is where the
// CA validates HTTP-01), a CA, and a manager that is driven by Check.
func newCluster(t *testing.T, n int, validity time.Duration) *cluster {
	t.Helper()
	c := &cluster{t: t, sites: &sites{}, clock: &clock{}, dir: t.TempDir()}
	c.settings = filepath.Join(c.dir, "https.json")
	node := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "page of %s", r.Host)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go node.Serve(ln)
	t.Cleanup(func() { node.Close() })
	c.member = orchard.Member{Name: "n0", Addr: ln.Addr().String()}

	plain := make([]string, n)
	for i := range n {
		plain[i] = testnet.FreeAddr(t)
		c.ctlAddrs = append(c.ctlAddrs, testnet.FreeAddr(t))
	}
	_, port, _ := net.SplitHostPort(plain[n-1])
	httpPort, _ := strconv.Atoi(port)
	c.ca = pebbletest.Start(t, pebbletest.Options{HTTPPort: httpPort, Validity: validity})
	for i := range n {
		c.bals = append(c.bals, c.startBalancer(plain[i], c.ctlAddrs[i]))
	}
	c.mgr = c.newManager()
	return c
}

func (c *cluster) startBalancer(listen, control string) *balancer.Balancer {
	c.t.Helper()
	b := balancer.New(balancer.Options{
		Listen:      listen,
		TLSListen:   "127.0.0.1:0",
		PushedCerts: true,
		Control:     control,
		ControlAuth: func(h http.Handler) http.Handler { return publish.RequireSignature(secret, publish.BalancerTarget, h) },
		Pools:       []balancer.Pool{{Name: "web", Members: []orchard.Member{c.member}}},
		VHosts:      []balancer.VHost{{Hosts: []string{"*"}, Pool: "web"}},
	})
	if err := b.Listen(context.Background()); err != nil {
		b.Close()
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { b.Close() })
	return b
}

func (c *cluster) newManager() *certs.Manager {
	c.t.Helper()
	var bs []certs.Balancer
	hc := publish.NewHTTPClient(2)
	for i, addr := range c.ctlAddrs {
		tg := publish.Target{Name: fmt.Sprintf("lb%d", i), ControlAddr: addr}
		bs = append(bs, certs.Balancer{
			Name: tg.Name,
			Digest: func(ctx context.Context) (orchard.CertDigest, error) {
				return publish.BalancerCertDigest(ctx, hc, secret, tg)
			},
			PutCerts: func(ctx context.Context, set *orchard.CertSet) error {
				return publish.PutBalancerCerts(ctx, hc, secret, tg, set)
			},
			PutChallenge: func(ctx context.Context, token, keyAuth string) error {
				return publish.PutBalancerChallenge(ctx, hc, secret, tg, token, keyAuth)
			},
			DeleteChallenge: func(ctx context.Context, token string) error {
				return publish.DeleteBalancerChallenge(ctx, hc, secret, tg, token)
			},
		})
	}
	m := certs.New(certs.Options{
		Sites:          c.sites,
		Dir:            filepath.Join(c.dir, "certs"),
		SettingsFile:   c.settings,
		Directory:      c.ca.Directory,
		Email:          "ops@example.com",
		AgreeTerms:     true,
		HTTPClient:     c.ca.Client,
		Balancers:      bs,
		NoLoop:         true, // the tests call Check
		RetryMin:       time.Minute,
		Clock:          c.clock.now,
		OrdersPerRound: c.perRound,
		Logger:         testLogger(c.t),
	})
	if err := m.Open(context.Background()); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { m.Close() })
	return m
}

func (c *cluster) check() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.mgr.Check(ctx); err != nil {
		c.t.Fatalf("Check: %v", err)
	}
}

func (c *cluster) status(host string) certs.Status {
	for _, st := range c.mgr.Status() {
		if st.Host == host {
			return st
		}
	}
	return certs.Status{}
}

// get fetches / over HTTPS from balancer b with SNI and Host host, trusting
// roots, and returns the body and the certificate served.
func get(b *balancer.Balancer, roots *x509.CertPool, host string) (string, *x509.Certificate, error) {
	tr := &http.Transport{TLSClientConfig: &tls.Config{ServerName: host, RootCAs: roots}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("GET", "https://"+b.TLSAddr()+"/", nil)
	req.Host = host
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return string(data), resp.TLS.PeerCertificates[0], nil
}

func (c *cluster) mustGet(b *balancer.Balancer, roots *x509.CertPool, host string) *x509.Certificate {
	c.t.Helper()
	body, leaf, err := get(b, roots, host)
	if err != nil {
		c.t.Fatalf("HTTPS %s via %s: %v", host, b.TLSAddr(), err)
	}
	if body != "page of "+host || !slices.Contains(leaf.DNSNames, host) {
		c.t.Fatalf("HTTPS %s: body %q, certificate for %v", host, body, leaf.DNSNames)
	}
	return leaf
}

// TestNewSiteAliasAndDelete runs the whole path against Pebble with real
// HTTP-01 validation: a new site gets a certificate, validated through the
// balancer the CA reaches (the other one is never asked), and both
// balancers serve it by SNI to a client that trusts only Pebble's root; an
// alias added later gets its own; a balancer that starts late catches up;
// a deleted site's certificates stop being served and leave the disk.
func TestNewSiteAliasAndDelete(t *testing.T) {
	c := newCluster(t, 2, 0)
	c.sites.put("alpha.test")
	c.check()
	st := c.status("alpha.test")
	if st.NotAfter.IsZero() || st.LastError != "" || st.Source != certs.SourceACME || !strings.Contains(st.Issuer, "Pebble") {
		t.Fatalf("alpha.test after a check: %+v", st)
	}
	if got := c.bals[0].Status().Requests; got != 0 {
		t.Errorf("balancer 0 had %d plain requests; the CA validates through balancer 1 only", got)
	}
	if got := c.bals[1].Status().Requests; got == 0 {
		t.Error("balancer 1 answered no challenge: the CA did not validate through it")
	}
	roots := c.ca.Roots()
	for _, b := range c.bals {
		c.mustGet(b, roots, "alpha.test")
	}
	key, err := os.Stat(filepath.Join(c.dir, "certs", "alpha.test.key"))
	if err != nil || key.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v; want 0600", err, key.Mode())
	}

	c.sites.put("alpha.test", "www.alpha.test")
	c.check()
	for _, b := range c.bals {
		c.mustGet(b, roots, "www.alpha.test")
		c.mustGet(b, roots, "alpha.test")
	}

	// A third balancer, down so far, starts: the next round catches it up.
	late := testnet.FreeAddr(t)
	c.ctlAddrs = append(c.ctlAddrs, late)
	c.mgr.Close()
	c.mgr = c.newManager() // also proves the certificates are reloaded from disk
	b3 := c.startBalancer(testnet.FreeAddr(t), late)
	if _, _, err := get(b3, roots, "alpha.test"); err == nil {
		t.Fatal("a new balancer served a certificate before the master sent one")
	}
	c.check()
	c.mustGet(b3, roots, "www.alpha.test")
	if got := c.status("alpha.test"); !got.Renewed.Equal(st.Renewed) {
		t.Errorf("a restart ordered again: renewed %v, was %v", got.Renewed, st.Renewed)
	}

	c.sites.drop("alpha.test")
	c.check()
	for _, b := range append(c.bals, b3) {
		for _, host := range []string{"alpha.test", "www.alpha.test"} {
			if _, _, err := get(b, roots, host); err == nil {
				t.Errorf("%s is still served after its site was deleted", host)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(c.dir, "certs", "alpha.test.key")); !os.IsNotExist(err) {
		t.Errorf("the deleted site's key is still on disk: %v", err)
	}
	if len(c.mgr.Status()) != 0 {
		t.Errorf("status after delete: %+v", c.mgr.Status())
	}
}

// TestRenewal checks that a certificate is renewed once a third of its
// lifetime is left, and not before, on the manager's clock.
func TestRenewal(t *testing.T) {
	c := newCluster(t, 1, 0)
	c.sites.put("beta.test")
	c.check()
	first := c.status("beta.test")
	roots := c.ca.Roots()
	leaf := c.mustGet(c.bals[0], roots, "beta.test")
	life := first.NotAfter.Sub(first.NotBefore)
	window := first.NotAfter.Add(-life / 3)

	c.clock.setTo(window.Add(-time.Hour))
	c.check()
	if got := c.status("beta.test"); !got.Renewed.Equal(first.Renewed) {
		t.Fatalf("renewed an hour before the window: %+v", got)
	}
	c.clock.setTo(window.Add(time.Minute))
	c.check()
	second := c.status("beta.test")
	if second.Renewed.Equal(first.Renewed) || !second.NotAfter.After(first.NotAfter) {
		t.Fatalf("not renewed in the window: before %+v, after %+v", first, second)
	}
	if now := c.mustGet(c.bals[0], roots, "beta.test"); now.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
		t.Error("the balancer serves the old certificate after the renewal")
	}
}

// TestCADown checks that a CA that is down leaves the current certificate
// in service, records the error, waits its back-off before trying again
// (no retry storm), and renews once the CA is back.
func TestCADown(t *testing.T) {
	c := newCluster(t, 1, 0)
	c.sites.put("gamma.test")
	c.check()
	first := c.status("gamma.test")
	oldRoots := c.ca.Roots()
	c.ca.Stop()

	renewAt := first.NotAfter.Add(-first.NotAfter.Sub(first.NotBefore) / 4)
	c.clock.setTo(renewAt)
	c.check()
	st := c.status("gamma.test")
	if st.Failures != 1 || st.LastError == "" || c.mgr.RenewalErrors() != 1 {
		t.Fatalf("after a failed renewal: %+v, errors %d; want 1 failure with the error", st, c.mgr.RenewalErrors())
	}
	if wait := st.NextTry.Sub(st.ErrorAt); wait != time.Minute {
		t.Errorf("first back-off %v, want 1m", wait)
	}
	c.mustGet(c.bals[0], oldRoots, "gamma.test")

	c.check() // within the back-off: no order
	if got := c.status("gamma.test"); got.Failures != 1 || c.mgr.RenewalErrors() != 1 {
		t.Errorf("tried again within the back-off: %+v", got)
	}
	c.clock.setTo(renewAt.Add(90 * time.Second))
	c.check()
	if got := c.status("gamma.test"); got.Failures != 2 || got.NextTry.Sub(got.ErrorAt) != 2*time.Minute {
		t.Errorf("second failure: %+v, want 2 failures and a 2m back-off", got)
	}

	c.ca.Restart()
	c.clock.setTo(renewAt.Add(5 * time.Minute))
	c.check()
	got := c.status("gamma.test")
	if got.Failures != 0 || got.LastError != "" || got.Renewed.Equal(first.Renewed) {
		t.Fatalf("after the CA came back: %+v", got)
	}
	c.mustGet(c.bals[0], c.ca.Roots(), "gamma.test") // the restarted CA has a new root
}

// testLogger writes the manager's log to the test's, which shows it when
// the test fails.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestSiteSettings checks the per-site HTTPS settings: a site with its own
// certificate files (a wildcard) is served with them and never ordered, a
// site that opted out gets nothing, redirect and HSTS reach the balancer,
// and the settings file round-trips.
func TestSiteSettings(t *testing.T) {
	c := newCluster(t, 1, 0)
	own := selfSigned(t, c.dir, "own.test", "*.own.test")
	settings := map[string]orchard.HTTPSSettings{
		"own.test":  {CertFile: own.certFile, KeyFile: own.keyFile, Redirect: true, HSTSSeconds: 600},
		"off.test":  {Off: true},
		"auto.test": {},
	}
	if err := certs.SaveSettings(c.settings, settings); err != nil {
		t.Fatal(err)
	}
	got, err := certs.LoadSettings(c.settings)
	if err != nil || len(got) != 2 || got["own.test"].HSTSSeconds != 600 || !got["off.test"].Off {
		t.Fatalf("settings round trip = %+v, %v", got, err)
	}
	c.sites.put("own.test", "www.own.test")
	c.sites.put("off.test")
	c.sites.put("auto.test")
	c.check()

	if st := c.status("own.test"); st.Source != certs.SourceFile || st.Issuer != "own.test" {
		t.Errorf("own.test: %+v, want its own file", st)
	}
	if st := c.status("www.own.test"); st.Host != "" {
		t.Errorf("an alias of a site with its own certificate was ordered: %+v", st)
	}
	if st := c.status("off.test"); st.Host != "" {
		t.Errorf("a site that opted out has a certificate: %+v", st)
	}
	if st := c.status("auto.test"); st.NotAfter.IsZero() {
		t.Errorf("auto.test: %+v, want an ACME certificate", st)
	}
	b := c.bals[0]
	for _, host := range []string{"own.test", "www.own.test"} {
		body, leaf, err := get(b, own.pool, host)
		if err != nil || body != "page of "+host || leaf.Subject.CommonName != "own.test" {
			t.Errorf("%s: %q, %v", host, body, err)
		}
	}
	if _, _, err := get(b, c.ca.Roots(), "off.test"); err == nil {
		t.Error("off.test is served over HTTPS")
	}

	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: "own.test", RootCAs: own.pool}}}).
		Do(&http.Request{Method: "GET", URL: mustURL(t, "https://"+b.TLSAddr()+"/"), Host: "own.test"})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=600" {
		t.Errorf("HSTS %q, want max-age=600", got)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.Do(&http.Request{Method: "GET", URL: mustURL(t, "http://"+b.Addr()+"/x"), Host: "own.test"})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(resp.Header.Get("Location"), "https://own.test:") {
		t.Errorf("plain HTTP to own.test: %d %q, want 301 to https://own.test", resp.StatusCode, resp.Header.Get("Location"))
	}
}

type ownFiles struct {
	certFile, keyFile string
	pool              *x509.CertPool
}

// selfSigned writes a certificate for names (the first is its common
// name) and its key into dir.
func selfSigned(t *testing.T, dir string, names ...string) ownFiles {
	t.Helper()
	c, err := selfsigned.New(selfsigned.Template{Names: names, Serial: 7,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	f := ownFiles{certFile: filepath.Join(dir, "own.crt"), keyFile: filepath.Join(dir, "own.key"), pool: c.Pool()}
	if err := c.Write(f.certFile, f.keyFile); err != nil {
		t.Fatal(err)
	}
	return f
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// FuzzLoadSettings feeds the settings file to its reader: no panic, and
// what it accepts validates.
func FuzzLoadSettings(f *testing.F) {
	f.Add([]byte(`{"a.test":{"off":true},"b.test":{"cert_file":"c","key_file":"k","redirect":true,"hsts_seconds":60}}`))
	f.Add([]byte(`{"a.test":{"hsts_seconds":-5}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "https.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := certs.LoadSettings(path)
		if err != nil {
			return
		}
		for host, s := range got {
			if s.Validate() != nil {
				t.Errorf("%s: accepted invalid settings %+v", host, s)
			}
		}
	})
}

// TestWaitsForBalancer checks that while no balancer answers, a due name
// is not ordered (it would fail validation and spend the CA's rate limit)
// and no failure is counted against it; once a balancer is up the next
// round obtains the certificate.
func TestWaitsForBalancer(t *testing.T) {
	c := newCluster(t, 1, 0)
	listen, control := c.bals[0].Addr(), c.bals[0].ControlAddr()
	c.bals[0].Close()
	c.sites.put("delta.test")
	c.check()
	if st := c.status("delta.test"); st.Failures != 0 || st.LastError != "" || !st.NotAfter.IsZero() || c.mgr.RenewalErrors() != 0 {
		t.Fatalf("with no balancer: %+v, errors %d; want no order and no failure", st, c.mgr.RenewalErrors())
	}
	b := c.startBalancer(listen, control)
	c.check()
	c.mustGet(b, c.ca.Roots(), "delta.test")
}

// TestOrdersPerRound checks that one round orders at most OrdersPerRound
// certificates and the next round the rest: many new sites do not become
// one burst of orders.
func TestOrdersPerRound(t *testing.T) {
	c := newCluster(t, 1, 0)
	c.mgr.Close()
	c.perRound = 2
	c.mgr = c.newManager()
	c.sites.put("one.test")
	c.sites.put("two.test")
	c.sites.put("three.test")
	c.check()
	issued := 0
	for _, st := range c.mgr.Status() {
		if !st.NotAfter.IsZero() {
			issued++
		}
	}
	if issued != 2 {
		t.Fatalf("%d certificates after one round, want 2: %+v", issued, c.mgr.Status())
	}
	c.check()
	for _, host := range []string{"one.test", "two.test", "three.test"} {
		c.mustGet(c.bals[0], c.ca.Roots(), host)
	}
}
