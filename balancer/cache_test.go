package balancer_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/internal/selfsigned"
	"github.com/orchardhq/orchard/internal/testnet"
)

const (
	rel1 = "1111111111111111"
	rel2 = "2222222222222222"
)

func TestReleaseAwareRouting(t *testing.T) {
	b0, b1, b2 := newBackend(t, "n0", rel1), newBackend(t, "n1", rel1), newBackend(t, "n2", rel1)
	b := mustOpen(t, onePool("", b0.member(1), b1.member(1), b2.member(1)))
	testnet.WaitFor(t, "releases known", func() bool { return b.Status().Sites[siteHost] == rel1 && len(memberStatus(b, "n2").Releases) > 0 })
	if got := shares(t, b, 12); got["n0"] != 4 || got["n1"] != 4 || got["n2"] != 4 {
		t.Fatalf("same release everywhere: %v", got)
	}
	// A publish reaches n1 and n2 first: once most members hold the new
	// release, the site's requests go to them only.
	r := rel2
	b1.release.Store(&r)
	b2.release.Store(&r)
	c := newClient()
	testnet.WaitFor(t, "newest release", func() bool { return b.Status().Sites[siteHost] == rel2 })
	for i := 0; i < 20; i++ {
		resp, _ := get(t, c, b.Addr(), "/")
		if got := resp.Header.Get(orchard.ReleaseHeader); got != rel2 {
			t.Fatalf("request %d after the switch came from release %s", i, got)
		}
	}
	// The members with the newest release go away: fall back.
	b.SetMember("web", "n1", "disable", 0)
	b.SetMember("web", "n2", "disable", 0)
	if resp, _ := get(t, c, b.Addr(), "/"); resp.StatusCode != 200 || resp.Header.Get("X-Member") != "n0" {
		t.Errorf("fallback: %d from %q", resp.StatusCode, resp.Header.Get("X-Member"))
	}
}

// TestOddReleaseNotRouted checks that one member's word does not decide a
// site's newest release: a node that alone reports another release (one
// made to activate an old release by a replayed request, say) gets none of
// the site's requests while the others agree.
func TestOddReleaseNotRouted(t *testing.T) {
	b0, b1, b2 := newBackend(t, "n0", rel1), newBackend(t, "n1", rel1), newBackend(t, "n2", rel1)
	b := mustOpen(t, onePool("", b0.member(1), b1.member(1), b2.member(1)))
	testnet.WaitFor(t, "releases known", func() bool { return b.Status().Sites[siteHost] == rel1 })
	odd := rel2
	b1.release.Store(&odd)
	testnet.WaitFor(t, "n1's odd release seen", func() bool { return memberStatus(b, "n1").Releases[siteHost] == rel2 })
	if got := b.Status().Sites[siteHost]; got != rel1 {
		t.Fatalf("newest release = %s after one member of three moved, want %s", got, rel1)
	}
	if got := shares(t, b, 20); got["n1"] != 0 || got["n0"]+got["n2"] != 20 {
		t.Fatalf("requests went to the odd member: %v", got)
	}
}

func cacheOpts(max int64, bes ...*backend) balancer.Options {
	var ms []orchard.Member
	for _, be := range bes {
		ms = append(ms, be.member(1))
	}
	o := onePool("", ms...)
	o.CacheBytes = max
	return o
}

func getAE(t testing.TB, c *http.Client, addr, path, ae string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	req.Host = siteHost
	if ae != "" {
		req.Header.Set("Accept-Encoding", ae)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func TestEdgeCache(t *testing.T) {
	be := newBackend(t, "n0", rel1)
	b := mustOpen(t, cacheOpts(1<<20, be))
	testnet.WaitFor(t, "releases known", func() bool { return b.Status().Sites[siteHost] == rel1 })
	c := newClient()
	check := func(path, ae, wantCache, wantBody string) *http.Response {
		t.Helper()
		resp, body := getAE(t, c, b.Addr(), path, ae)
		if got := resp.Header.Get("X-Orchard-Cache"); got != wantCache || body != wantBody {
			t.Errorf("GET %s (%s): cache %q body %q, want %q %q", path, ae, got, body, wantCache, wantBody)
		}
		return resp
	}
	check("/p", "", "miss", "n0 "+rel1+" a.test /p")
	check("/p", "", "hit", "n0 "+rel1+" a.test /p")
	check("/p", "gzip, deflate", "miss", "gz:n0 "+rel1+" a.test /p")
	resp := check("/p", "deflate, gzip;q=0.5", "hit", "gz:n0 "+rel1+" a.test /p")
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get(orchard.ReleaseHeader) != rel1 {
		t.Errorf("hit headers %v", resp.Header)
	}
	check("/p", "gzip;q=0", "hit", "n0 "+rel1+" a.test /p")
	hits := be.hits.Load()

	// Conditional GET answered from the entry.
	req, _ := http.NewRequest(http.MethodGet, "http://"+b.Addr()+"/p", nil)
	req.Host = siteHost
	req.Header.Set("If-None-Match", `"`+rel1+`/p"`)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified || be.hits.Load() != hits {
		t.Errorf("conditional hit: %d, member asked %d times", resp.StatusCode, be.hits.Load()-hits)
	}

	// A new release changes the key: no purge needed.
	r := rel2
	be.release.Store(&r)
	testnet.WaitFor(t, "new release", func() bool { return b.Status().Sites[siteHost] == rel2 })
	check("/p", "", "miss", "n0 "+rel2+" a.test /p")
	check("/p", "", "hit", "n0 "+rel2+" a.test /p")

	// Not cacheable: Set-Cookie, no-store, private, statuses, Range.
	be.cookie.Store(true)
	check("/cookie", "", "miss", "n0 "+rel2+" a.test /cookie")
	check("/cookie", "", "miss", "n0 "+rel2+" a.test /cookie")
	be.cookie.Store(false)
	for _, cc := range []string{"no-store", "private, max-age=60", "max-age=0", ""} {
		be.cacheCtl.Store(&cc)
		path := fmt.Sprintf("/cc-%d", len(cc))
		check(path, "", "miss", "n0 "+rel2+" a.test "+path)
		check(path, "", "miss", "n0 "+rel2+" a.test "+path)
	}
	cc := "public, max-age=60"
	be.cacheCtl.Store(&cc)
	be.status.Store(500)
	check("/err", "", "miss", "n0 "+rel2+" a.test /err")
	check("/err", "", "miss", "n0 "+rel2+" a.test /err")
	be.status.Store(404)
	check("/missing", "", "miss", "n0 "+rel2+" a.test /missing")
	check("/missing", "", "hit", "n0 "+rel2+" a.test /missing")
	be.status.Store(0)
	st := b.Status().Cache
	if st.Hits == 0 || st.Misses == 0 || st.Bytes <= 0 || st.Entries < 3 {
		t.Errorf("cache status %+v", st)
	}
}

func TestEdgeCacheSingleFlight(t *testing.T) {
	be := newBackend(t, "n0", rel1)
	b := mustOpen(t, cacheOpts(1<<20, be))
	testnet.WaitFor(t, "releases known", func() bool { return b.Status().Sites[siteHost] == rel1 })
	be.delay.Store(int64(200 * time.Millisecond))
	c := newClient()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, "http://"+b.Addr()+"/hot", nil)
			req.Host = siteHost
			if resp, err := c.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	if n := be.hits.Load(); n != 1 {
		t.Errorf("member asked %d times for one hot page, want 1", n)
	}
}

func TestEdgeCacheBound(t *testing.T) {
	be := newBackend(t, "n0", rel1)
	const max = 256 << 10
	b := mustOpen(t, cacheOpts(max, be))
	testnet.WaitFor(t, "releases known", func() bool { return b.Status().Sites[siteHost] == rel1 })
	n := 100000
	if testing.Short() {
		n = 10000
	}
	c := newClient()
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/scan/%d", b.Addr(), i), nil)
				req.Host = siteHost
				resp, err := c.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if st := b.Status().Cache; i%1000 == 0 && st.Bytes > max {
					t.Errorf("cache holds %d bytes, bound %d", st.Bytes, max)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	st := b.Status().Cache
	if st.Bytes > max || st.Evictions == 0 {
		t.Errorf("after %d URLs: %+v", n, st)
	}
}

// selfSigned writes a certificate and key for 127.0.0.1 into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	c, err := selfsigned.New(selfsigned.Template{Names: []string{siteHost}, Serial: 1, IPs: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := c.Write(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestTLS serves HTTPS over HTTP/2 (net/http) and over HTTP/1.1 (fasthttp,
// after the balancer's own handshake): both reach the member, keep every
// rule and say https to it.
func TestTLS(t *testing.T) {
	be := newBackend(t, "n0", rel1)
	o := onePool("", be.member(1))
	o.TLSCert, o.TLSKey = selfSigned(t, t.TempDir())
	o.TLSListen = "127.0.0.1:0"
	o.RedirectHTTPS = true
	b := mustOpen(t, o)
	for _, proto := range []int{2, 1} {
		tr := &http.Transport{
			TLSClientConfig:    &tls.Config{InsecureSkipVerify: true},
			ForceAttemptHTTP2:  proto == 2,
			DisableCompression: true, // the fake member's "gzip" is not gzip
		}
		if proto == 1 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{} // HTTP/1.1 only
		}
		c := &http.Client{Timeout: 5 * time.Second, Transport: tr}
		for i := range 2 { // the second on the same connection
			resp, body := getURL(t, c, "https://"+b.TLSAddr()+"/x")
			if resp.ProtoMajor != proto || resp.StatusCode != 200 || body != "n0 "+rel1+" a.test /x" {
				t.Errorf("HTTPS over HTTP/%d, request %d: %s %d %q", proto, i+1, resp.Proto, resp.StatusCode, body)
			}
			if got := be.header().Get("X-Forwarded-Proto"); got != "https" {
				t.Errorf("HTTP/%d: X-Forwarded-Proto %q", proto, got)
			}
		}
		// Rules hold on TLS too.
		req, _ := http.NewRequest(http.MethodGet, "https://"+b.TLSAddr()+"/admin/x", nil)
		req.Host = siteHost
		if resp, err := c.Do(req); err != nil || resp.StatusCode != 403 {
			t.Errorf("HTTPS over HTTP/%d /admin/: %v %v", proto, resp.StatusCode, err)
		}
	}
	// Plain HTTP redirects.
	hr, _ := get(t, newClient(), b.Addr(), "/y?z")
	_, port, _ := net.SplitHostPort(b.TLSAddr())
	if want := "https://a.test:" + port + "/y?z"; hr.StatusCode != http.StatusPermanentRedirect || hr.Header.Get("Location") != want {
		t.Errorf("redirect: %d %q, want %q", hr.StatusCode, hr.Header.Get("Location"), want)
	}
}
