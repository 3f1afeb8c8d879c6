package balancer_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/orchardhq/orchard/balancer"
)

func TestProxyHeaders(t *testing.T) {
	be := newBackend(t, "n0", "0123456789abcdef")
	b := mustOpen(t, onePool("", be.member(1)))
	req := "GET /x?q=1 HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 300\r\n" +
		"Proxy-Authorization: Basic Zm9vOmJhcg==\r\nTE: trailers\r\nUpgrade: websocket\r\nX-Forwarded-For: 6.6.6.6\r\n" +
		"X-Forwarded-Host: evil.test\r\nX-Forwarded-Proto: https\r\nForwarded: for=6.6.6.6\r\nX-Orchard-Release: ffffffffffffffff\r\n" +
		"X-Orchard-Anything: 1\r\nX-Real-IP: 6.6.6.6\r\nAccept: */*\r\n\r\n"
	code, head := raw(t, b.Addr(), netip.Addr{}, req)
	if code != 200 {
		t.Fatalf("status %d: %s", code, head)
	}
	h := be.header()
	for name, want := range map[string]string{
		"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "a.test",
		"Host": "a.test", "X-Request-Uri": "/x?q=1", "Accept": "*/*",
		"X-Hop": "", "Keep-Alive": "", "Proxy-Authorization": "", "Te": "", "Upgrade": "", "Forwarded": "",
		"X-Orchard-Release": "", "X-Orchard-Anything": "", "X-Real-Ip": "",
	} {
		if got := strings.Join(h.Values(name), ","); got != want {
			t.Errorf("member saw %s = %q, want %q", name, got, want)
		}
	}
	for _, bad := range []string{"Keep-Alive:", "X-Private:"} {
		if strings.Contains(head, bad) {
			t.Errorf("response to client carries hop-by-hop %s\n%s", bad, head)
		}
	}
	if !strings.Contains(head, "X-Orchard-Release: 0123456789abcdef") {
		t.Errorf("response lost X-Orchard-Release:\n%s", head)
	}
}

func TestRules(t *testing.T) {
	be := newBackend(t, "n0", "0123456789abcdef")
	o := onePool("", be.member(1))
	o.VHosts = []balancer.VHost{
		{Hosts: []string{"a.test", "*.b.test"}, Pool: "web", Deny: []string{"/admin/*", "/secret*.txt"}},
		{Hosts: []string{"c.test"}, Pool: "web", Deny: []string{"/admin/*"}, DenyAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
	}
	o.ManagerAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	b := mustOpen(t, o)
	lo2 := netip.MustParseAddr("127.0.0.2")
	tests := []struct {
		name    string
		from    netip.Addr
		req     string
		status  int
		reaches bool // the member sees the request
	}{
		{"OK", netip.Addr{}, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", 200, true},
		{"OKWildcard", netip.Addr{}, "GET / HTTP/1.1\r\nHost: www.b.test:80\r\n\r\n", 200, true},
		{"OKUpperCaseHost", netip.Addr{}, "GET / HTTP/1.1\r\nHost: A.TEST.\r\n\r\n", 200, true},
		{"UnknownHost", netip.Addr{}, "GET / HTTP/1.1\r\nHost: other.test\r\n\r\n", 421, false},
		{"WildcardApex", netip.Addr{}, "GET / HTTP/1.1\r\nHost: b.test\r\n\r\n", 421, false},
		{"BadHost", netip.Addr{}, "GET / HTTP/1.1\r\nHost: a..test\r\n\r\n", 400, false},
		{"Connect", netip.Addr{}, "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n", 405, false},
		{"AbsoluteForeign", netip.Addr{}, "GET http://evil.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n", 421, false},
		{"AbsoluteDisagrees", netip.Addr{}, "GET http://evil.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 400, false},
		{"AbsoluteDisagrees2", netip.Addr{}, "GET http://a.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n", 400, false},
		{"AbsoluteConfigured", netip.Addr{}, "GET http://a.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n", 200, true},
		{"AbsoluteUserinfo", netip.Addr{}, "GET http://u@a.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n", 400, false},
		{"Reserved", netip.Addr{}, "GET /_orchard/health HTTP/1.1\r\nHost: a.test\r\n\r\n", 404, false},
		{"ReservedBare", netip.Addr{}, "GET /_orchard HTTP/1.1\r\nHost: a.test\r\n\r\n", 404, false},
		{"ReservedCase", netip.Addr{}, "GET /_ORCHARD/v1/status HTTP/1.1\r\nHost: a.test\r\n\r\n", 404, false},
		{"ReservedEscaped", netip.Addr{}, "GET /%5forchard/health HTTP/1.1\r\nHost: a.test\r\n\r\n", 404, false},
		{"ReservedDoubleSlash", netip.Addr{}, "GET //_orchard/health HTTP/1.1\r\nHost: a.test\r\n\r\n", 404, false},
		{"ReservedDot", netip.Addr{}, "GET /./_orchard/health HTTP/1.1\r\nHost: a.test\r\n\r\n", 404, false},
		{"DotDot", netip.Addr{}, "GET /x/../../etc/passwd HTTP/1.1\r\nHost: a.test\r\n\r\n", 400, false},
		{"EncodedSlash", netip.Addr{}, "GET /x%2f..%2fy HTTP/1.1\r\nHost: a.test\r\n\r\n", 400, false},
		{"Deny", netip.Addr{}, "GET /admin/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 403, false},
		{"DenyBare", netip.Addr{}, "GET /admin HTTP/1.1\r\nHost: a.test\r\n\r\n", 403, false},
		{"DenyCase", netip.Addr{}, "GET /ADMIN/x HTTP/1.1\r\nHost: a.test\r\n\r\n", 403, false},
		{"DenyEscaped", netip.Addr{}, "GET /%61dmin/x HTTP/1.1\r\nHost: a.test\r\n\r\n", 403, false},
		{"DenySlashes", netip.Addr{}, "GET //admin//x HTTP/1.1\r\nHost: a.test\r\n\r\n", 403, false},
		{"DenyMiddleStar", netip.Addr{}, "GET /secret-plans.txt HTTP/1.1\r\nHost: a.test\r\n\r\n", 403, false},
		{"DenyNotPrefix", netip.Addr{}, "GET /administrator HTTP/1.1\r\nHost: a.test\r\n\r\n", 200, true},
		{"DenyAllowed", netip.Addr{}, "GET /admin/ HTTP/1.1\r\nHost: c.test\r\n\r\n", 200, true},
		{"DenyAllowedNot", lo2, "GET /admin/ HTTP/1.1\r\nHost: c.test\r\n\r\n", 403, false},
		{"Manager", netip.Addr{}, "GET /orchard-manager/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 200, false},
		{"ManagerJSON", netip.Addr{}, "GET /orchard-manager/json HTTP/1.1\r\nHost: a.test\r\n\r\n", 200, false},
		{"ManagerFromOutside", lo2, "GET /orchard-manager/ HTTP/1.1\r\nHost: a.test\r\n\r\n", 403, false},
		{"ManagerFromOutsideEscaped", lo2, "GET /orchard%2Dmanager/json HTTP/1.1\r\nHost: a.test\r\n\r\n", 403, false},
		{"ManagerFromOutsideBare", lo2, "GET /orchard-manager HTTP/1.1\r\nHost: a.test\r\n\r\n", 403, false},
		{"NoHost", netip.Addr{}, "GET / HTTP/1.1\r\n\r\n", 400, false},
		{"TwoHosts", netip.Addr{}, "GET / HTTP/1.1\r\nHost: a.test\r\nHost: evil.test\r\n\r\n", 400, false},
		{"Asterisk", netip.Addr{}, "OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n", 400, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := be.hits.Load()
			code, head := raw(t, b.Addr(), tt.from, tt.req)
			if code != tt.status {
				t.Errorf("status %d, want %d\n%s", code, tt.status, head)
			}
			if got := be.hits.Load() > before; got != tt.reaches {
				t.Errorf("member reached: %v, want %v", got, tt.reaches)
			}
		})
	}
	t.Run("PathRewrittenToCanonical", func(t *testing.T) {
		code, _ := raw(t, b.Addr(), netip.Addr{}, "GET /a//b/./c%7e?x=%2F HTTP/1.1\r\nHost: a.test\r\n\r\n")
		if code != 200 {
			t.Fatalf("status %d", code)
		}
		if got := be.header().Get("X-Request-Uri"); got != "/a/b/c~?x=%2F" {
			t.Errorf("member saw %q", got)
		}
	})
	t.Run("AbsoluteRewrittenToOriginForm", func(t *testing.T) {
		raw(t, b.Addr(), netip.Addr{}, "GET http://a.test/y?z HTTP/1.1\r\nHost: a.test\r\n\r\n")
		if got := be.header().Get("X-Request-Uri"); got != "/y?z" {
			t.Errorf("member saw %q", got)
		}
	})
}

func TestHEADAndBody(t *testing.T) {
	be := newBackend(t, "n0", "0123456789abcdef")
	b := mustOpen(t, onePool("", be.member(1)))
	c := newClient()
	req, _ := http.NewRequest(http.MethodHead, "http://"+b.Addr()+"/page", nil)
	req.Host = siteHost
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := int64(len("n0 0123456789abcdef a.test /page"))
	if resp.StatusCode != 200 || resp.ContentLength != want {
		t.Errorf("HEAD: status %d, length %d, want 200, %d", resp.StatusCode, resp.ContentLength, want)
	}
	_, body := get(t, c, b.Addr(), "/page")
	if body != "n0 0123456789abcdef a.test /page" {
		t.Errorf("GET body %q", body)
	}
}
