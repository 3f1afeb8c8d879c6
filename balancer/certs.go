package balancer

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"

	"github.com/orchardhq/orchard"
)

// Certificates pushed by the master (orchard.CertsPath) and ACME HTTP-01
// challenges (orchard.ChallengesPath). The balancer never talks to the CA:
// the master obtains every certificate, so a tier of balancers shares one
// set and one rate-limit budget. The set is held in memory only; a
// balancer that starts gets it from the master's next reconciliation.

// MaxChallenges bounds the pending ACME challenges a balancer holds; the
// master has a handful in flight at a time.
const MaxChallenges = 10000

// maxCertSetBytes bounds a pushed certificate set (about 5 KB per host).
const maxCertSetBytes = 64 << 20

// pushedCerts is the balancer's share of automatic HTTPS.
type pushedCerts struct {
	table atomic.Pointer[certTable] // nil until the first push

	mu         sync.Mutex
	challenges map[string]string // token -> key authorization
}

// certTable is one pushed CertSet, ready for lookups by SNI and host.
type certTable struct {
	digest    string
	certs     int
	exact     map[string]*tls.Certificate // lower-case host
	wild      map[string]*tls.Certificate // "example.com" for "*.example.com"
	policy    map[string]orchard.HostPolicy
	redirects bool // some host redirects to HTTPS: the plain listener looks
	hsts      map[string]string
}

// newCertTable parses every certificate of set; one that does not parse
// fails the whole push, so the master hears of it at once.
func newCertTable(set *orchard.CertSet) (*certTable, error) {
	t := &certTable{
		digest: set.Digest(),
		certs:  len(set.Certs),
		exact:  map[string]*tls.Certificate{},
		wild:   map[string]*tls.Certificate{},
		policy: map[string]orchard.HostPolicy{},
		hsts:   map[string]string{},
	}
	for _, sc := range set.Certs {
		c, err := tls.X509KeyPair(sc.CertPEM, sc.KeyPEM)
		if err != nil {
			return nil, orchard.Errorf(orchard.EINVALID, "Certificate for %s: %v", strings.Join(sc.Names, ", "), err)
		}
		for _, name := range sc.Names {
			name = strings.ToLower(name)
			if rest, ok := strings.CutPrefix(name, "*."); ok {
				t.wild[rest] = &c
			} else {
				t.exact[name] = &c
			}
		}
	}
	for host, p := range set.Policies {
		host = strings.ToLower(host)
		t.policy[host] = p
		t.redirects = t.redirects || p.Redirect
		if p.HSTSSeconds > 0 {
			t.hsts[host] = "max-age=" + strconv.FormatInt(p.HSTSSeconds, 10)
		}
	}
	return t, nil
}

// lookup returns the certificate for name (lower-case), exact first, then
// a wildcard one label up.
func (t *certTable) lookup(name string) *tls.Certificate {
	if c := t.exact[name]; c != nil {
		return c
	}
	if _, rest, ok := strings.Cut(name, "."); ok {
		return t.wild[rest]
	}
	return nil
}

// getCertificate picks the certificate for a TLS handshake by SNI: a pushed
// one, else the tls_cert file (also for clients that send no SNI).
func (b *Balancer) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if t := b.acme.table.Load(); t != nil && hello.ServerName != "" {
		if c := t.lookup(strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))); c != nil {
			return c, nil
		}
	}
	if c := b.cert.Load(); c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("no certificate for %q", hello.ServerName)
}

// servePlain is the plain listener's handler: ACME challenges and per-host
// redirects to HTTPS come before every other rule, then serve.
func (b *Balancer) servePlain(ctx *fasthttp.RequestCtx) {
	if path := ctx.Path(); bytes.HasPrefix(path, acmeChallengePrefix) {
		b.serveChallenge(ctx, string(path[len(acmeChallengePrefix):]))
		b.logPlain(ctx)
		return
	}
	if t := b.acme.table.Load(); t != nil && t.redirects {
		if host, err := orchard.NormalizeHost(string(ctx.Host())); err == nil && t.policy[host].Redirect {
			b.stats.requests.Add(1)
			loc := "https://" + host
			if _, port, err := net.SplitHostPort(b.TLSAddr()); err == nil && port != "443" {
				loc += ":" + port
			}
			ctx.Response.Header.Set("Location", loc+string(ctx.Request.Header.RequestURI()))
			plain(ctx, fasthttp.StatusMovedPermanently, "Moved to HTTPS\n")
			b.logPlain(ctx)
			return
		}
	}
	b.serve(ctx)
}

var acmeChallengePrefix = []byte(orchard.ACMEChallengePrefix)

// logPlain writes an answer of servePlain's own to the access log, as
// handle does for the others.
func (b *Balancer) logPlain(ctx *fasthttp.RequestCtx) {
	if b.alog != nil {
		b.alog.write(ctx, clientAddr(ctx), b.now())
	}
}

// serveChallenge answers an HTTP-01 challenge for any host, from the table
// the master filled; it is never proxied to a node.
func (b *Balancer) serveChallenge(ctx *fasthttp.RequestCtx, token string) {
	b.stats.requests.Add(1)
	b.acme.mu.Lock()
	keyAuth, ok := b.acme.challenges[token]
	b.acme.mu.Unlock()
	if !ok || !ctx.IsGet() && !ctx.IsHead() {
		b.stats.rejected.Add(1)
		plain(ctx, fasthttp.StatusNotFound, "No such challenge.\n")
		return
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	plain(ctx, fasthttp.StatusOK, keyAuth)
}

// hsts adds Strict-Transport-Security to HTTPS responses of the hosts
// whose policy asks for it.
func (b *Balancer) hsts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v, ok := b.hstsFor([]byte(r.Host)); ok {
			w.Header().Set("Strict-Transport-Security", v)
		}
		next.ServeHTTP(w, r)
	})
}

// hstsFor returns the Strict-Transport-Security value of host, if its
// site sends one.
func (b *Balancer) hstsFor(host []byte) (string, bool) {
	t := b.acme.table.Load()
	if t == nil || len(t.hsts) == 0 {
		return "", false
	}
	h, err := orchard.NormalizeHost(string(host))
	if err != nil {
		return "", false
	}
	v, ok := t.hsts[h]
	return v, ok
}

// controlCerts adds the signed certificate and challenge endpoints to the
// control listener's mux.
func (b *Balancer) controlCerts(mux *http.ServeMux, auth func(http.Handler) http.Handler) {
	mux.Handle("GET "+orchard.CertsPath, auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeControlJSON(w, http.StatusOK, b.CertDigest())
	})))
	mux.Handle("PUT "+orchard.CertsPath, auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The whole body is read before use: the signature check fails
		// it at its end when it does not match its signed hash.
		data, err := io.ReadAll(io.LimitReader(r.Body, maxCertSetBytes+1))
		if err != nil {
			http.Error(w, "Unreadable or unsigned body.", http.StatusUnauthorized)
			return
		}
		var set orchard.CertSet
		if len(data) > maxCertSetBytes || json.Unmarshal(data, &set) != nil {
			http.Error(w, "The body is not a certificate set.", http.StatusBadRequest)
			return
		}
		if err := b.SetCerts(&set); err != nil {
			b.log.Warn("certificate set refused", "addr", r.RemoteAddr, "err", err)
			http.Error(w, orchard.ErrorMessage(err), orchard.StatusCode(orchard.ErrorCode(err)))
			return
		}
		writeControlJSON(w, http.StatusOK, b.CertDigest())
	})))
	mux.Handle("PUT "+orchard.ChallengesPath+"/{token}", auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(io.LimitReader(r.Body, 4<<10+1))
		if err != nil {
			http.Error(w, "Unreadable or unsigned body.", http.StatusUnauthorized)
			return
		}
		if err := b.SetChallenge(r.PathValue("token"), string(data)); err != nil {
			http.Error(w, orchard.ErrorMessage(err), orchard.StatusCode(orchard.ErrorCode(err)))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})))
	mux.Handle("DELETE "+orchard.ChallengesPath+"/{token}", auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.DeleteChallenge(r.PathValue("token"))
		w.WriteHeader(http.StatusNoContent)
	})))
}

// SetCerts replaces the certificates served by SNI and the per-host HTTPS
// policies with set (EINVALID if a certificate does not parse; the old set
// stays). Hosts missing from set stop being served at once.
func (b *Balancer) SetCerts(set *orchard.CertSet) error {
	t, err := newCertTable(set)
	if err != nil {
		return err
	}
	if old := b.acme.table.Swap(t); old == nil || old.digest != t.digest {
		b.log.Info("certificates set", "certs", t.certs, "digest", t.digest[:12])
	}
	return nil
}

// CertDigest reports the digest of the certificate set held.
func (b *Balancer) CertDigest() orchard.CertDigest {
	t := b.acme.table.Load()
	if t == nil {
		return orchard.CertDigest{}
	}
	return orchard.CertDigest{Digest: t.digest, Certs: t.certs}
}

// SetChallenge makes the plain listener answer token's HTTP-01 challenge
// with keyAuth (EINVALID for a malformed one, ECONFLICT when too many are
// pending).
func (b *Balancer) SetChallenge(token, keyAuth string) error {
	if !validToken(token) || !strings.HasPrefix(keyAuth, token+".") || !validToken(keyAuth[len(token)+1:]) {
		return orchard.Errorf(orchard.EINVALID, "Not an ACME token and key authorization.")
	}
	b.acme.mu.Lock()
	defer b.acme.mu.Unlock()
	if b.acme.challenges == nil {
		b.acme.challenges = map[string]string{}
	}
	if _, ok := b.acme.challenges[token]; !ok && len(b.acme.challenges) >= MaxChallenges {
		return orchard.Errorf(orchard.ECONFLICT, "Too many pending challenges.")
	}
	b.acme.challenges[token] = keyAuth
	return nil
}

// DeleteChallenge forgets token's challenge.
func (b *Balancer) DeleteChallenge(token string) {
	b.acme.mu.Lock()
	delete(b.acme.challenges, token)
	b.acme.mu.Unlock()
}

// validToken reports whether s is base64url without padding, as ACME tokens
// and key thumbprints are (RFC 8555 section 8.1).
func validToken(s string) bool { return orchard.ValidName(s, 256) }
