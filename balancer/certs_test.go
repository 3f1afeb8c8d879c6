package balancer_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/internal/selfsigned"
	"github.com/orchardhq/orchard/publish"
)

const certsSecret = "certs-test-secret-0123456789abcdef"

// pushedCertsBalancer starts a balancer whose TLS listener has no
// certificate file: every certificate comes over the signed control API.
func pushedCertsBalancer(t *testing.T, opts ...func(*balancer.Options)) (*balancer.Balancer, *backend) {
	t.Helper()
	be := newBackend(t, "n0", rel1)
	o := onePool("", be.member(1))
	o.TLSListen = "127.0.0.1:0"
	o.PushedCerts = true
	o.Control = "127.0.0.1:0"
	o.ControlAuth = func(h http.Handler) http.Handler {
		return publish.RequireSignature([]byte(certsSecret), publish.BalancerTarget, h)
	}
	for _, f := range opts {
		f(&o)
	}
	return mustOpen(t, o), be
}

// testCert returns a self-signed certificate and key for names, in PEM.
func testCert(t *testing.T, names ...string) orchard.SiteCert {
	t.Helper()
	c, err := selfsigned.New(selfsigned.Template{Names: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return orchard.SiteCert{Names: names, NotAfter: c.NotAfter, CertPEM: c.CertPEM, KeyPEM: c.KeyPEM}
}

// control sends a signed request to the balancer's control listener and
// returns the status and body.
func control(t *testing.T, b *balancer.Balancer, method, path string, body []byte, secret string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, "http://"+b.ControlAddr()+path, rd)
	if secret != "" {
		publish.Sign(req, []byte(secret), publish.BalancerTarget, body)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func putCerts(t *testing.T, b *balancer.Balancer, set orchard.CertSet) {
	t.Helper()
	body, _ := json.Marshal(set)
	if st, msg := control(t, b, "PUT", orchard.CertsPath, body, certsSecret); st != http.StatusOK {
		t.Fatalf("PUT certs: %d %s", st, msg)
	}
}

// httpsGet fetches path over TLS with SNI and Host sni, trusting only
// roots, and returns the response, its body and the leaf's common name.
func httpsGet(b *balancer.Balancer, roots *x509.CertPool, sni, path string) (*http.Response, string, string, error) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:    &tls.Config{ServerName: sni, RootCAs: roots},
		ForceAttemptHTTP2:  true,
		DisableCompression: true, // the fake backend labels plain text gzip
	}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer c.CloseIdleConnections()
	req, _ := http.NewRequest("GET", "https://"+b.TLSAddr()+path, nil)
	req.Host = sni
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", "", err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data), resp.TLS.PeerCertificates[0].Subject.CommonName, nil
}

func pool(t *testing.T, certs ...orchard.SiteCert) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	for _, c := range certs {
		if !p.AppendCertsFromPEM(c.CertPEM) {
			t.Fatal("bad test certificate")
		}
	}
	return p
}

// TestPushedCerts checks that a balancer with no certificate file serves
// the pushed certificates by SNI (exact and wildcard, HTTP/2), sends HSTS
// where the host's policy asks, refuses unsigned pushes, reports the
// set's digest, and stops serving a host the next set leaves out.
func TestPushedCerts(t *testing.T) {
	b, _ := pushedCertsBalancer(t)
	site, wild, other := testCert(t, siteHost, "www.a.test"), testCert(t, "*.w.test"), testCert(t, "b.test")
	roots := pool(t, site, wild, other)
	set := orchard.CertSet{
		Certs:    []orchard.SiteCert{site, wild, other},
		Policies: map[string]orchard.HostPolicy{siteHost: {HSTSSeconds: 3600}},
	}
	body, _ := json.Marshal(set)

	if st, _ := control(t, b, "PUT", orchard.CertsPath, body, ""); st != http.StatusUnauthorized {
		t.Fatalf("unsigned PUT: status %d, want 401", st)
	}
	if _, _, _, err := httpsGet(b, roots, siteHost, "/"); err == nil {
		t.Fatal("a handshake succeeded before any certificate was pushed")
	}
	putCerts(t, b, set)
	st, msg := control(t, b, "GET", orchard.CertsPath, nil, certsSecret)
	var d orchard.CertDigest
	if st != http.StatusOK || json.Unmarshal([]byte(msg), &d) != nil || d.Digest != set.Digest() || d.Certs != 3 {
		t.Errorf("GET certs = %d %s, want digest %s of 3 certs", st, msg, set.Digest())
	}

	for _, tc := range []struct{ sni, cn, hsts string }{
		{siteHost, siteHost, "max-age=3600"},
		{"WWW.A.TEST", siteHost, ""},
		{"x.w.test", "*.w.test", ""},
		{"b.test", "b.test", ""},
	} {
		resp, body, cn, err := httpsGet(b, roots, tc.sni, "/page")
		if err != nil {
			t.Errorf("%s: %v", tc.sni, err)
			continue
		}
		if cn != tc.cn || resp.StatusCode != http.StatusOK || !strings.Contains(body, "n0") || resp.ProtoMajor != 2 {
			t.Errorf("%s: certificate %q status %d proto %s body %q; want %q, 200 over HTTP/2 from n0", tc.sni, cn, resp.StatusCode, resp.Proto, body, tc.cn)
		}
		if got := resp.Header.Get("Strict-Transport-Security"); got != tc.hsts {
			t.Errorf("%s: HSTS %q, want %q", tc.sni, got, tc.hsts)
		}
	}
	if _, _, _, err := httpsGet(b, roots, "x.y.w.test", "/"); err == nil {
		t.Error("a wildcard covered two labels")
	}

	// The site of b.test is deleted: the next set leaves it out.
	putCerts(t, b, orchard.CertSet{Certs: []orchard.SiteCert{site, wild}})
	if _, _, _, err := httpsGet(b, roots, "b.test", "/"); err == nil {
		t.Error("a host left out of the set is still served")
	}
	if _, _, _, err := httpsGet(b, roots, siteHost, "/"); err != nil {
		t.Errorf("a host kept in the set: %v", err)
	}

	bad := orchard.CertSet{Certs: []orchard.SiteCert{{Names: []string{"c.test"}, CertPEM: []byte("junk"), KeyPEM: []byte("junk")}}}
	body, _ = json.Marshal(bad)
	if st, _ := control(t, b, "PUT", orchard.CertsPath, body, certsSecret); st != http.StatusBadRequest {
		t.Errorf("a set with a broken certificate: status %d, want 400", st)
	}
	if _, _, _, err := httpsGet(b, roots, siteHost, "/"); err != nil {
		t.Errorf("a refused set replaced the one served: %v", err)
	}
}

// TestChallenge checks that the plain listener answers an ACME HTTP-01
// challenge for any host from the table the master fills (never from a
// node), and forgets it when deleted.
func TestChallenge(t *testing.T) {
	b, be := pushedCertsBalancer(t)
	token, keyAuth := "tok-EN_123", "tok-EN_123.thumb_Print-9"
	path := orchard.ACMEChallengePrefix + token
	if st, _ := control(t, b, "PUT", orchard.ChallengesPath+"/"+token, []byte(keyAuth), ""); st != http.StatusUnauthorized {
		t.Fatalf("unsigned challenge: status %d, want 401", st)
	}
	if st, _ := control(t, b, "PUT", orchard.ChallengesPath+"/"+token, []byte("other.thumb"), certsSecret); st != http.StatusBadRequest {
		t.Errorf("key authorization of another token: status %d, want 400", st)
	}
	if st, msg := control(t, b, "PUT", orchard.ChallengesPath+"/"+token, []byte(keyAuth), certsSecret); st != http.StatusNoContent {
		t.Fatalf("PUT challenge: %d %s", st, msg)
	}
	hits := be.hits.Load()
	for _, host := range []string{siteHost, "unknown.example"} {
		st, resp := raw(t, b.Addr(), nilAddr, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
		if st != http.StatusOK || !strings.HasSuffix(resp, "\n"+keyAuth) {
			t.Errorf("host %s: %d %q, want 200 with the key authorization", host, st, resp)
		}
	}
	if be.hits.Load() != hits {
		t.Error("a challenge was proxied to a node")
	}
	control(t, b, "DELETE", orchard.ChallengesPath+"/"+token, nil, certsSecret)
	if st, _ := raw(t, b.Addr(), nilAddr, "GET "+path+" HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"); st != http.StatusNotFound {
		t.Errorf("deleted challenge: status %d, want 404", st)
	}
}

// TestRedirectPolicy checks the per-host redirect to HTTPS: 301 for the
// host whose policy asks, with the TLS port, never for an ACME challenge,
// and other hosts proxied as before.
func TestRedirectPolicy(t *testing.T) {
	b, _ := pushedCertsBalancer(t)
	putCerts(t, b, orchard.CertSet{
		Certs:    []orchard.SiteCert{testCert(t, siteHost), testCert(t, "b.test")},
		Policies: map[string]orchard.HostPolicy{siteHost: {Redirect: true}},
	})
	_, port, _ := strings.Cut(b.TLSAddr(), ":")
	st, resp := raw(t, b.Addr(), nilAddr, "GET /x?y=1 HTTP/1.1\r\nHost: A.test:80\r\nConnection: close\r\n\r\n")
	if want := "Location: https://a.test:" + port + "/x?y=1"; st != http.StatusMovedPermanently || !strings.Contains(resp, want) {
		t.Errorf("redirected host: %d %q, want 301 with %s", st, resp, want)
	}
	if st, _ := raw(t, b.Addr(), nilAddr, "GET /x HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\r\n"); st != http.StatusOK {
		t.Errorf("host without redirect: status %d, want 200", st)
	}
	if st, _ := raw(t, b.Addr(), nilAddr, "GET "+orchard.ACMEChallengePrefix+"none HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"); st != http.StatusNotFound {
		t.Errorf("challenge path on a redirected host: status %d, want 404 (not redirected)", st)
	}
}

// TestPushedCertsOptions checks that a TLS listener without a file needs
// the signed control listener the certificates come through.
func TestPushedCertsOptions(t *testing.T) {
	be := newBackend(t, "n0", rel1)
	o := onePool("", be.member(1))
	o.TLSListen, o.PushedCerts = "127.0.0.1:0", true
	b := balancer.New(o)
	defer b.Close()
	if err := b.Listen(t.Context()); orchard.ErrorCode(err) != orchard.EINVALID {
		t.Errorf("Listen = %v, want EINVALID", err)
	}
}

// FuzzCertsControl feeds the bodies of the certificate and challenge
// pushes to the balancer's parsers: none may panic, and a refused set
// leaves the digest as it was.
func FuzzCertsControl(f *testing.F) {
	f.Add([]byte(`{"certs":[{"names":["a.test"],"cert_pem":"AA==","key_pem":"AA=="}],"policies":{"a.test":{"redirect":true}}}`), "tok", "tok.thumb")
	f.Add([]byte(`{"certs":[],"policies":{"*.x":{"hsts_seconds":-1}}}`), "", ".")
	f.Fuzz(func(t *testing.T, body []byte, token, keyAuth string) {
		b := balancer.New(balancer.Options{})
		var set orchard.CertSet
		if json.Unmarshal(body, &set) == nil {
			before := b.CertDigest()
			if err := b.SetCerts(&set); err != nil && b.CertDigest() != before {
				t.Error("a refused set changed the digest")
			}
		}
		if err := b.SetChallenge(token, keyAuth); err == nil && !strings.HasPrefix(keyAuth, token+".") {
			t.Errorf("accepted key authorization %q for token %q", keyAuth, token)
		}
		b.DeleteChallenge(token)
	})
}

// TestChallengeAccessLog checks that the balancer's own answers on the
// plain listener (a challenge, a redirect to HTTPS) reach the access log
// like every other request.
func TestChallengeAccessLog(t *testing.T) {
	var buf syncBuf
	b, _ := pushedCertsBalancer(t, func(o *balancer.Options) { o.AccessLog = &buf })
	putCerts(t, b, orchard.CertSet{Policies: map[string]orchard.HostPolicy{siteHost: {Redirect: true}}})
	raw(t, b.Addr(), nilAddr, "GET "+orchard.ACMEChallengePrefix+"tok HTTP/1.1\r\nHost: x.test\r\nConnection: close\r\n\r\n")
	raw(t, b.Addr(), nilAddr, "GET /page HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
	b.Close()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "/.well-known/acme-challenge/tok HTTP/1.1\" 404") || !strings.Contains(lines[1], "/page HTTP/1.1\" 301") {
		t.Errorf("access log:\n%s\nwant the challenge (404) and the redirect (301)", buf.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "127.0.0.1 - - [") || !strings.HasSuffix(l, `"-" "-"`) {
			t.Errorf("log line %q is not in combined format", l)
		}
	}
}
