package node_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/orchardhq/orchard"
)

// TestServe_NoSniff checks that every kind of node response, on the
// traffic and the control listener, carries X-Content-Type-Options:
// nosniff, so no browser runs an upload as another type than its own.
func TestServe_NoSniff(t *testing.T) {
	n, _ := openActive(t, build(t, otherStore(t), orchard.Site{Host: "empty.test"}, siteFiles()))
	for _, tc := range []struct {
		name, request string
		status        int
	}{
		{"File", "GET /theme/style.css HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n", 200},
		{"Gzip", "GET / HTTP/1.1\r\nHost: a.test\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n", 200},
		{"NotModified", "GET /logo.png HTTP/1.1\r\nHost: a.test\r\nIf-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\nConnection: close\r\n\r\n", 304},
		{"Range", "GET /logo.png HTTP/1.1\r\nHost: a.test\r\nRange: bytes=0-3\r\nConnection: close\r\n\r\n", 206},
		{"Redirect", "GET /news HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n", 301},
		{"SiteNotFound", "GET /nope HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n", 404},
		{"UnknownHost", "GET / HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n", 404},
		{"NoRelease", "GET / HTTP/1.1\r\nHost: empty.test\r\nConnection: close\r\n\r\n", 503},
		{"Method", "DELETE / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n", 405},
		{"BadPath", "GET /a/../../x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n", 400},
		{"Malformed", "GET / HTTP/1.1\r\nHost a.test\r\n\r\n", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := raw(t, n.Addr(), tc.request)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
		})
	}
	t.Run("Control", func(t *testing.T) {
		for _, p := range []string{orchard.HealthPath, "/other"} {
			resp, err := http.Get("http://" + n.ControlAddr() + p)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("control %s: X-Content-Type-Options = %q, want nosniff", p, got)
			}
		}
	})
}
