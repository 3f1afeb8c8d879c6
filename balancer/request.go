package balancer

import (
	"bytes"
	"net/netip"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/orchardhq/orchard"
)

// target is what a request asks for once its request line and Host header
// have been checked.
type target struct {
	host     []byte // normalised host name
	path     []byte // clean path (orchard.CleanRequestPath), no query
	absolute bool   // the request line was in absolute form
}

// rejection is a refused request: status and a short plain-text reason.
type rejection struct {
	status int
	msg    string
}

var (
	rejBadRequest = &rejection{fasthttp.StatusBadRequest, "Bad Request\n"}
	rejConnect    = &rejection{fasthttp.StatusMethodNotAllowed, "CONNECT is not allowed: this is not a proxy.\n"}
	rejDisagree   = &rejection{fasthttp.StatusBadRequest, "The request line and the Host header name different hosts.\n"}
	rejForeign    = &rejection{fasthttp.StatusForbidden, "This is not an open proxy.\n"}
	rejReserved   = &rejection{fasthttp.StatusNotFound, "Not Found\n"}
	rejNoHost     = &rejection{fasthttp.StatusMisdirectedRequest, "No site is served here under this name.\n"}
	rejDenied     = &rejection{fasthttp.StatusForbidden, "Forbidden\n"}
	rejManagerACL = &rejection{fasthttp.StatusForbidden, "Forbidden\n"}
)

// parseTarget checks the request line and the Host header. An absolute-form
// request line ("GET http://host/path") must name the same host as the
// Host header, and is rewritten to origin form so members never see it.
// The path must pass orchard.CleanRequestPath; when its canonical form
// differs from what was sent, the request is rewritten to the canonical
// form (escaped again), so the path checked is the path forwarded.
func parseTarget(r *fasthttp.Request) (target, *rejection) {
	var t target
	req := &r.Header
	if req.IsConnect() {
		return t, rejConnect
	}
	uri := req.RequestURI()
	hostHdr := req.Host()
	if len(uri) == 0 {
		return t, rejBadRequest
	}
	if uri[0] != '/' {
		auth, rest, ok := splitAbsolute(uri)
		if !ok {
			return t, rejBadRequest
		}
		ah, ok1 := orchard.HostKey(auth)
		hh, ok2 := orchard.HostKey(hostHdr)
		if !ok1 || !ok2 {
			return t, rejBadRequest
		}
		if !bytes.Equal(ah, hh) {
			return t, rejDisagree
		}
		t.absolute = true
		if len(rest) == 0 || rest[0] != '/' {
			rest = append([]byte{'/'}, rest...)
		}
		r.SetRequestURIBytes(rest)
		uri = req.RequestURI()
	}
	h, ok := orchard.HostKey(hostHdr)
	if !ok {
		return t, rejBadRequest
	}
	t.host = h
	raw := uri
	q := bytes.IndexByte(uri, '?')
	if q >= 0 {
		raw = uri[:q]
	}
	if canonicalPath(raw) {
		t.path = raw
		return t, nil
	}
	clean, err := orchard.CleanRequestPath(string(raw))
	if err != nil {
		return t, rejBadRequest
	}
	esc := escapePath(clean)
	if esc != string(raw) {
		nu := []byte(esc)
		if q >= 0 {
			nu = append(nu, uri[q:]...)
		}
		r.SetRequestURIBytes(nu)
	}
	t.path = []byte(clean)
	return t, nil
}

// splitAbsolute splits "http://authority/rest" (any case, http or https)
// into the authority and the rest. Userinfo ("user@") is refused.
func splitAbsolute(uri []byte) (auth, rest []byte, ok bool) {
	var s []byte
	switch {
	case len(uri) > 7 && eqFold(uri[:7], "http://"):
		s = uri[7:]
	case len(uri) > 8 && eqFold(uri[:8], "https://"):
		s = uri[8:]
	default:
		return nil, nil, false
	}
	end := bytes.IndexAny(s, "/?#")
	if end < 0 {
		end = len(s)
	}
	auth, rest = s[:end], s[end:]
	if len(auth) == 0 || bytes.IndexByte(auth, '@') >= 0 || (len(rest) > 0 && rest[0] == '#') {
		return nil, nil, false
	}
	return auth, rest, true
}

// canonicalPath reports whether a raw path is already in the form
// orchard.CleanRequestPath gives, needing neither decoding nor cleaning:
// the common case, checked without allocating.
func canonicalPath(p []byte) bool {
	if len(p) == 0 || p[0] != '/' || len(p) > orchard.MaxPathLen {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= 0x20 || c >= 0x7f || c == '%' || c == '\\' || c == '#' {
			return false
		}
		if c == '/' && i+1 < len(p) && (p[i+1] == '/' || p[i+1] == '.') {
			return false
		}
	}
	return true
}

// escapePath percent-encodes a clean path for a request line: everything
// but RFC 3986 pchar characters and '/'.
func escapePath(p string) string {
	n := 0
	for i := 0; i < len(p); i++ {
		if !pathChar(p[i]) {
			n++
		}
	}
	if n == 0 {
		return p
	}
	const hexd = "0123456789ABCDEF"
	b := make([]byte, 0, len(p)+2*n)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if pathChar(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hexd[c>>4], hexd[c&15])
		}
	}
	return string(b)
}

func pathChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0
}

// Header flags found by one pass over a request's or response's headers.
const (
	fConnection = 1 << iota
	fKeepAlive
	fProxyConn
	fProxyAuthz
	fProxyAuthn
	fTE
	fTrailer
	fUpgrade
	fForwarded
	fXFF
	fXFProto
	fXFHost
	fXRealIP
	fXOrchard
	fConnTokens // Connection lists header names to drop
)

var hopByHop = []struct {
	name string
	flag int
}{
	{"Connection", fConnection},
	{"Keep-Alive", fKeepAlive},
	{"Proxy-Connection", fProxyConn},
	{"Proxy-Authorization", fProxyAuthz},
	{"Proxy-Authenticate", fProxyAuthn},
	{"Te", fTE},
	{"Trailer", fTrailer},
	{"Upgrade", fUpgrade},
	{"Forwarded", fForwarded},
	{"X-Forwarded-For", fXFF},
	{"X-Forwarded-Proto", fXFProto},
	{"X-Forwarded-Host", fXFHost},
	{"X-Real-Ip", fXRealIP},
}

// headerFlags classifies one header name.
func headerFlags(k, v []byte) int {
	if len(k) > 10 && eqFold(k[:10], "x-orchard-") {
		return fXOrchard
	}
	for _, h := range hopByHop {
		if eqFold(k, h.name) {
			if h.flag == fConnection && hasConnTokens(v) {
				return fConnection | fConnTokens
			}
			return h.flag
		}
	}
	return 0
}

// hasConnTokens reports whether a Connection value names anything other
// than close and keep-alive.
func hasConnTokens(v []byte) bool {
	for len(v) > 0 {
		var tok []byte
		if tok, v = orchard.CutListItem(v); len(tok) > 0 && !eqFold(tok, "close") && !eqFold(tok, "keep-alive") {
			return true
		}
	}
	return false
}

// sanitizeRequest removes hop-by-hop headers, every header the balancer
// sets itself (X-Forwarded-*, Forwarded, X-Real-IP) and every X-Orchard-*
// header, then sets X-Forwarded-For (the client address only: what a
// client claims is not kept), -Proto and -Host. It reports whether the
// client asked to close its connection.
func sanitizeRequest(req *fasthttp.RequestHeader, client netip.Addr, tls bool, host []byte) (clientClose bool) {
	clientClose = req.ConnectionClose()
	flags := 0
	for k, v := range req.All() {
		flags |= headerFlags(k, v)
	}
	if flags != 0 {
		if flags&(fConnTokens|fXOrchard) != 0 {
			dropNamed(req.All(), req.Peek("Connection"), flags, req.Del)
		}
		for _, h := range hopByHop {
			if flags&h.flag != 0 {
				req.Del(h.name)
			}
		}
	}
	req.ResetConnectionClose()
	var buf [64]byte
	req.SetCanonical(hXFF, client.Unmap().AppendTo(buf[:0]))
	if tls {
		req.SetCanonical(hXFProto, vHTTPS)
	} else {
		req.SetCanonical(hXFProto, vHTTP)
	}
	req.SetCanonical(hXFHost, host)
	return clientClose
}

// sanitizeResponse removes hop-by-hop headers from a member's response.
func sanitizeResponse(resp *fasthttp.ResponseHeader) {
	flags := 0
	for k, v := range resp.All() {
		if f := headerFlags(k, v); f&^(fXOrchard|fXFF|fXFProto|fXFHost|fXRealIP|fForwarded) != 0 {
			flags |= f
		}
	}
	if flags&fConnTokens != 0 {
		dropNamed(resp.All(), resp.Peek("Connection"), fConnTokens, resp.Del)
	}
	for _, h := range hopByHop[:8] {
		if flags&h.flag != 0 {
			resp.Del(h.name)
		}
	}
	resp.ResetConnectionClose()
}

// dropNamed deletes the headers a Connection value lists and, when asked,
// every X-Orchard-* header. It is the rare path and may allocate.
func dropNamed(all func(func([]byte, []byte) bool), conn []byte, flags int, del func(string)) {
	var names []string
	if flags&fConnTokens != 0 {
		for _, tok := range bytes.Split(conn, []byte(",")) {
			tok = bytes.TrimSpace(tok)
			if len(tok) > 0 && !eqFold(tok, "close") && !eqFold(tok, "keep-alive") {
				names = append(names, string(tok))
			}
		}
	}
	if flags&fXOrchard != 0 {
		for k := range all {
			if len(k) > 10 && eqFold(k[:10], "x-orchard-") {
				names = append(names, string(k))
			}
		}
	}
	for _, n := range names {
		if strings.EqualFold(n, "host") { // Connection: host must not unset Host
			continue
		}
		del(n)
	}
}

var (
	hXFF     = []byte("X-Forwarded-For")
	hXFProto = []byte("X-Forwarded-Proto")
	hXFHost  = []byte("X-Forwarded-Host")
	vHTTP    = []byte("http")
	vHTTPS   = []byte("https")
)

// eqFold reports whether b equals s, ignoring ASCII case, without
// allocating.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}
