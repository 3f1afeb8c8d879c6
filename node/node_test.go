package node_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/node"
	"github.com/orchardhq/orchard/release"
)

// files is a renderer over fixed outputs.
type files map[string][2]string // path -> content type, body

func (f files) Outputs() []release.Output {
	var out []release.Output
	for p, v := range f {
		out = append(out, release.Output{Path: p, ContentType: v[0], Deps: []string{p}})
	}
	return out
}
func (f files) Render(p string) ([]byte, error) { return []byte(f[p][1]), nil }
func (f files) Inputs() map[string]string {
	in := map[string]string{}
	for p, v := range f {
		in[p] = v[0] + "\x00" + v[1] // a hash in spirit: equal iff the content is
	}
	return in
}

var (
	bigHTML = "<html>" + strings.Repeat("hello orchard ", 100) + "</html>"
	css     = "body { color: black; }" + strings.Repeat(" /* pad */", 50)
)

func siteFiles() files {
	return files{
		"/":                {"text/html; charset=utf-8", bigHTML},
		"/news/":           {"text/html; charset=utf-8", "<p>news</p>"},
		"/news/hello/":     {"text/html; charset=utf-8", "<p>hello</p>"},
		"/theme/style.css": {"text/css; charset=utf-8", css},
		"/404.html":        {"text/html; charset=utf-8", "<p>custom not found</p>"},
		"/logo.png":        {"image/png", "\x89PNG fake image bytes"},
	}
}

var testSite = orchard.Site{Host: "a.test", Aliases: []string{"www.a.test"}, CacheControl: "public, max-age=300"}

// build builds a release of site with fs into the store at dir.
func build(t *testing.T, st *release.Store, site orchard.Site, fs files) *orchard.Manifest {
	t.Helper()
	res, err := (&release.Builder{Store: st}).Build(context.Background(), &site, fs)
	if err != nil {
		t.Fatal(err)
	}
	return res.Manifest
}

func mustOpenNode(t *testing.T, dir string) *node.Node {
	t.Helper()
	n := node.New(node.Config{Name: "node0", Dir: dir, Control: "127.0.0.1:0", Version: "test"})
	if err := n.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// openWaiting opens a node in a fresh dir that holds the releases waiting,
// saved and never activated: their sites are known and have no active
// release. Their blobs stay in the store they were built in.
func openWaiting(t *testing.T, waiting ...*orchard.Manifest) *node.Node {
	t.Helper()
	dir := t.TempDir()
	st, err := release.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range waiting {
		if _, err := st.SaveManifest(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return mustOpenNode(t, dir)
}

// openActive opens a node in a fresh dir with testSite active, and the
// releases waiting known but not active (see openWaiting).
func openActive(t *testing.T, waiting ...*orchard.Manifest) (*node.Node, *orchard.Manifest) {
	t.Helper()
	n := openWaiting(t, waiting...)
	m := build(t, n.Store(), testSite, siteFiles())
	if err := activate(n, m); err != nil {
		t.Fatal(err)
	}
	return n, m
}

// activate makes m the active release of its site on n.
func activate(n *node.Node, m *orchard.Manifest) error {
	return n.Activate(m.Site, m.ID(), m, nil)
}

// otherStore opens a release store in a fresh dir, for releases whose
// blobs a node does not have.
func otherStore(t *testing.T) *release.Store {
	t.Helper()
	st, err := release.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// raw sends a raw HTTP/1.1 request and reads the response, so tests control
// the exact request line and Host header.
func raw(t *testing.T, addr, request string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	method := strings.Fields(request)[0]
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("read response to %q: %v", request, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body
}

func get(t *testing.T, addr, host, target string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	return raw(t, addr, "GET "+target+" HTTP/1.1\r\nHost: "+host+"\r\n"+strings.Join(headers, "")+"Connection: close\r\n\r\n")
}

func TestServe(t *testing.T) {
	n, m := openActive(t)
	addr := n.Addr()
	id := m.ID()
	index := m.Files["/index.html"]
	cssE := m.Files["/theme/style.css"]
	lastMod := m.Created.UTC().Format(http.TimeFormat)

	type want struct {
		status  int
		body    string // exact, when set
		headers map[string]string
		absent  []string
	}
	tests := []struct {
		name    string
		request string
		want    want
	}{
		{"OK", "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", want{200, bigHTML, map[string]string{
			"Content-Type": "text/html; charset=utf-8", "ETag": `"` + index.SHA256 + `"`, "Last-Modified": lastMod,
			"Cache-Control": "public, max-age=300", "X-Orchard-Release": id, "Vary": "Accept-Encoding",
			"Content-Length": fmt.Sprint(len(bigHTML))}, []string{"Content-Encoding", "Accept-Ranges"}}},
		{"DirIndex", "GET /news/hello/ HTTP/1.1\r\nHost: a.test\r\n\r\n", want{200, "<p>hello</p>", nil, []string{"Vary"}}},
		{"IndexFile", "GET /news/hello/index.html HTTP/1.1\r\nHost: a.test\r\n\r\n", want{200, "<p>hello</p>", nil, nil}},
		{"QueryIgnored", "GET /news/?page=2 HTTP/1.1\r\nHost: a.test\r\n\r\n", want{200, "<p>news</p>", nil, nil}},
		{"DotSegments", "GET /news/./hello//x/../ HTTP/1.1\r\nHost: a.test\r\n\r\n", want{status: 400}},
		{"Cleaned", "GET //news/./hello/ HTTP/1.1\r\nHost: a.test\r\n\r\n", want{200, "<p>hello</p>", nil, nil}},
		{"Encoded", "GET /n%65ws/ HTTP/1.1\r\nHost: a.test\r\n\r\n", want{200, "<p>news</p>", nil, nil}},
		{"Redirect", "GET /news/hello?x=1 HTTP/1.1\r\nHost: a.test\r\n\r\n", want{301, "", map[string]string{"Location": "/news/hello/?x=1", "X-Orchard-Release": id}, nil}},
		{"HostPortCase", "GET / HTTP/1.1\r\nHost: A.Test.:8080\r\n\r\n", want{200, bigHTML, map[string]string{"X-Orchard-Release": id}, nil}},
		{"HostPort", "GET / HTTP/1.1\r\nHost: a.test:8080\r\n\r\n", want{200, bigHTML, nil, nil}},
		{"Alias", "GET / HTTP/1.1\r\nHost: www.a.test\r\n\r\n", want{200, bigHTML, nil, nil}},
		{"UnknownHost", "GET / HTTP/1.1\r\nHost: b.test\r\n\r\n", want{404, "Not Found\n", nil, []string{"X-Orchard-Release"}}},
		{"NoHost", "GET / HTTP/1.1\r\n\r\n", want{400, "", nil, []string{"X-Orchard-Release"}}},
		{"NotFoundPage", "GET /nope/ HTTP/1.1\r\nHost: a.test\r\n\r\n", want{404, "<p>custom not found</p>", map[string]string{"X-Orchard-Release": id, "Content-Type": "text/html; charset=utf-8"}, nil}},
		{"Reserved", "GET /_orchard/site.json HTTP/1.1\r\nHost: a.test\r\n\r\n", want{404, "<p>custom not found</p>", nil, nil}},
		{"Post", "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\n\r\n", want{405, "", map[string]string{"Allow": "GET, HEAD", "X-Orchard-Release": id}, nil}},
		{"Delete", "DELETE /theme/style.css HTTP/1.1\r\nHost: a.test\r\n\r\n", want{405, "", map[string]string{"Allow": "GET, HEAD"}, nil}},
		{"Head", "HEAD /theme/style.css HTTP/1.1\r\nHost: a.test\r\n\r\n", want{200, "", map[string]string{"Content-Length": fmt.Sprint(len(css)), "ETag": `"` + cssE.SHA256 + `"`}, nil}},
		{"INM", "GET / HTTP/1.1\r\nHost: a.test\r\nIf-None-Match: \"" + index.SHA256 + "\"\r\n\r\n", want{304, "", map[string]string{"ETag": `"` + index.SHA256 + `"`, "X-Orchard-Release": id}, nil}},
		{"INMList", "GET / HTTP/1.1\r\nHost: a.test\r\nIf-None-Match: \"x\", W/\"" + index.SHA256 + "\"\r\n\r\n", want{status: 304}},
		{"INMStar", "GET / HTTP/1.1\r\nHost: a.test\r\nIf-None-Match: *\r\n\r\n", want{status: 304}},
		{"INMOther", "GET / HTTP/1.1\r\nHost: a.test\r\nIf-None-Match: \"abc\"\r\n\r\n", want{200, bigHTML, nil, nil}},
		{"INMGzip", "GET / HTTP/1.1\r\nHost: a.test\r\nAccept-Encoding: gzip\r\nIf-None-Match: \"" + index.Gzip + "\"\r\n\r\n", want{304, "", map[string]string{"ETag": `"` + index.Gzip + `"`}, nil}},
		{"IMSLater", "GET / HTTP/1.1\r\nHost: a.test\r\nIf-Modified-Since: " + m.Created.Add(time.Hour).UTC().Format(http.TimeFormat) + "\r\n\r\n", want{status: 304}},
		{"IMSSame", "GET / HTTP/1.1\r\nHost: a.test\r\nIf-Modified-Since: " + lastMod + "\r\n\r\n", want{status: 304}},
		{"IMSEarlier", "GET / HTTP/1.1\r\nHost: a.test\r\nIf-Modified-Since: " + m.Created.Add(-time.Hour).UTC().Format(http.TimeFormat) + "\r\n\r\n", want{200, bigHTML, nil, nil}},
		{"INMWinsOverIMS", "GET / HTTP/1.1\r\nHost: a.test\r\nIf-None-Match: \"abc\"\r\nIf-Modified-Since: " + lastMod + "\r\n\r\n", want{status: 200}},
		{"Range", "GET /theme/style.css HTTP/1.1\r\nHost: a.test\r\nRange: bytes=0-3\r\n\r\n", want{206, css[:4], map[string]string{"Content-Range": fmt.Sprintf("bytes 0-3/%d", len(css)), "Accept-Ranges": "bytes"}, []string{"Content-Encoding"}}},
		{"RangeSuffix", "GET /theme/style.css HTTP/1.1\r\nHost: a.test\r\nRange: bytes=-5\r\n\r\n", want{206, css[len(css)-5:], nil, nil}},
		{"RangeOpen", "GET /logo.png HTTP/1.1\r\nHost: a.test\r\nRange: bytes=4-\r\n\r\n", want{206, "\x89PNG fake image bytes"[4:], nil, nil}},
		{"RangeUnsatisfiable", "GET /theme/style.css HTTP/1.1\r\nHost: a.test\r\nRange: bytes=99999-\r\n\r\n", want{416, "", map[string]string{"Content-Range": fmt.Sprintf("bytes */%d", len(css))}, nil}},
		{"RangeMulti", "GET /theme/style.css HTTP/1.1\r\nHost: a.test\r\nRange: bytes=0-1,3-4\r\n\r\n", want{200, css, nil, nil}},
		{"RangeIfRangeStale", "GET /theme/style.css HTTP/1.1\r\nHost: a.test\r\nRange: bytes=0-3\r\nIf-Range: \"old\"\r\n\r\n", want{200, css, nil, nil}},
		{"RangeIfRangeOK", "GET /theme/style.css HTTP/1.1\r\nHost: a.test\r\nRange: bytes=0-3\r\nIf-Range: \"" + cssE.SHA256 + "\"\r\n\r\n", want{206, css[:4], nil, nil}},
		{"RangeHTMLIgnored", "GET / HTTP/1.1\r\nHost: a.test\r\nRange: bytes=0-3\r\n\r\n", want{200, bigHTML, nil, []string{"Content-Range"}}},
		{"GzipRefused", "GET / HTTP/1.1\r\nHost: a.test\r\nAccept-Encoding: gzip;q=0, br\r\n\r\n", want{200, bigHTML, map[string]string{"Vary": "Accept-Encoding"}, []string{"Content-Encoding"}}},
		{"GzipStarRefused", "GET / HTTP/1.1\r\nHost: a.test\r\nAccept-Encoding: *;q=0\r\n\r\n", want{200, bigHTML, nil, []string{"Content-Encoding"}}},
		{"GzipNotNamed", "GET / HTTP/1.1\r\nHost: a.test\r\nAccept-Encoding: br, deflate\r\n\r\n", want{200, bigHTML, nil, []string{"Content-Encoding"}}},
		{"BadPathEncodedDots", "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: a.test\r\n\r\n", want{status: 400}},
		{"BadPathEncodedSlash", "GET /news%2fhello/ HTTP/1.1\r\nHost: a.test\r\n\r\n", want{status: 400}},
		{"BadPathNUL", "GET /news/%00/ HTTP/1.1\r\nHost: a.test\r\n\r\n", want{status: 400}},
		{"BadPathBackslash", "GET /..\\..\\x HTTP/1.1\r\nHost: a.test\r\n\r\n", want{status: 400}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := raw(t, addr, tt.request)
			if resp.StatusCode != tt.want.status {
				t.Fatalf("status %d, want %d (body %.80q)", resp.StatusCode, tt.want.status, body)
			}
			if tt.want.body != "" && string(body) != tt.want.body {
				t.Fatalf("body %.80q, want %.80q", body, tt.want.body)
			}
			for k, v := range tt.want.headers {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			for _, k := range tt.want.absent {
				if v, ok := resp.Header[k]; ok {
					t.Errorf("%s present (%q), want absent", k, v)
				}
			}
		})
	}

	t.Run("Gzip", func(t *testing.T) {
		for _, ae := range []string{"gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8", "*", "GZIP;Q=0.5", "x-gzip"} {
			resp, body := get(t, addr, "a.test", "/", "Accept-Encoding: "+ae+"\r\n")
			if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("ETag") != `"`+index.Gzip+`"` {
				t.Fatalf("Accept-Encoding %q: Content-Encoding %q ETag %q", ae, resp.Header.Get("Content-Encoding"), resp.Header.Get("ETag"))
			}
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			plain, _ := io.ReadAll(zr)
			if string(plain) != bigHTML {
				t.Fatalf("gzip body decodes to %.40q", plain)
			}
		}
	})
}

// TestServe_Unavailable: a site known (a release saved) but never
// activated answers 503 with Retry-After.
func TestServe_Unavailable(t *testing.T) {
	st := otherStore(t)
	m := build(t, st, orchard.Site{Host: "b.test"}, siteFiles())
	n := openWaiting(t, m)
	resp, _ := get(t, n.Addr(), "b.test", "/")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Activation refuses while blobs are missing; the site stays 503.
	if err := activate(n, m); !errors.Is(err, release.ErrBlobsMissing) {
		t.Fatalf("Activate without blobs: %v, want ErrBlobsMissing", err)
	}
	if resp, _ := get(t, n.Addr(), "b.test", "/"); resp.StatusCode != 503 {
		t.Fatalf("after the refused activation: %d, want 503", resp.StatusCode)
	}
	// Store the blobs, then activate.
	for _, sha := range n.Blobs().Missing(m) {
		data, _ := st.Blobs().Get(sha)
		if err := n.Blobs().PutVerified(sha, bytes.NewReader(data), 1<<20); err != nil {
			t.Fatal(err)
		}
	}
	if err := activate(n, m); err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(t, n.Addr(), "b.test", "/"); resp.StatusCode != 200 {
		t.Fatalf("after activate: %d", resp.StatusCode)
	}
}

// TestNode_Restart: a node reopened on its data dir serves the same release.
func TestNode_Restart(t *testing.T) {
	dir := t.TempDir()
	n := node.New(node.Config{Name: "n", Dir: dir})
	if err := n.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	m1 := build(t, n.Store(), testSite, siteFiles())
	if err := activate(n, m1); err != nil {
		t.Fatal(err)
	}
	fs2 := siteFiles()
	fs2["/"] = [2]string{"text/html; charset=utf-8", "<p>second</p>"}
	m2 := build(t, n.Store(), testSite, fs2)
	if err := activate(n, m2); err != nil {
		t.Fatal(err)
	}
	_, before := get(t, n.Addr(), "a.test", "/")
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	n2 := mustOpenNode(t, dir)
	if got := n2.Releases()["a.test"]; got != m2.ID() {
		t.Fatalf("after restart active %q, want %q", got, m2.ID())
	}
	resp, after := get(t, n2.Addr(), "a.test", "/")
	if resp.Header.Get("X-Orchard-Release") != m2.ID() || !bytes.Equal(before, after) || string(after) != "<p>second</p>" {
		t.Fatalf("after restart: release %q body %q", resp.Header.Get("X-Orchard-Release"), after)
	}
	// Rolling back is activating the older release.
	if err := activate(n2, m1); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, n2.Addr(), "a.test", "/"); string(body) != bigHTML {
		t.Fatalf("after rollback body %.40q", body)
	}
}

// TestServe_CraftedHosts: hosts and paths built to escape the data
// directory never reach a file.
func TestServe_CraftedHosts(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"secret.txt", "sites/secret.txt", "blobs/secret.txt", "../secret.txt"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte("SECRET"), 0o644)
	}
	n := mustOpenNode(t, dir)
	m := build(t, n.Store(), testSite, siteFiles())
	if err := activate(n, m); err != nil {
		t.Fatal(err)
	}
	hosts := []string{"..", "%2e%2e", "a/../b", "a.test/../..", "../a.test", strings.Repeat("a", 10<<10), "a.test\x00", "a\x00.test", "sites", "a.test%00", ".", "a.test/", "blobs"}
	paths := []string{"/", "/secret.txt", "/../secret.txt", "/%2e%2e/secret.txt", "/a/../../secret.txt", "/sites/secret.txt", "/blobs/secret.txt", "/_orchard/site.json", "/%2e%2e%2fsecret.txt"}
	for _, h := range hosts {
		for _, p := range paths {
			c, err := net.Dial("tcp", n.Addr())
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", p, h)
			all, _ := io.ReadAll(c)
			c.Close()
			if bytes.Contains(all, []byte("SECRET")) {
				t.Fatalf("Host %.40q path %q reached a file: %.200q", h, p, all)
			}
			if bytes.HasPrefix(all, []byte("HTTP/1.1 200")) {
				t.Fatalf("Host %.40q path %q: 200", h, p)
			}
		}
	}
}

func TestControl(t *testing.T) {
	n, m := openActive(t)
	resp, err := http.Get("http://" + n.ControlAddr() + orchard.HealthPath)
	if err != nil {
		t.Fatal(err)
	}
	var h orchard.Health
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if !h.OK || h.Role != "node" || h.Name != "node0" || h.Releases["a.test"] != m.ID() {
		t.Fatalf("health = %+v", h)
	}
	// Without a publish handler nothing under /_orchard/v1/ is served.
	for _, p := range []string{"/", "/_orchard/v1/status", "/_orchard/v1/releases/a.test", "/index.html"} {
		resp, err := http.Get("http://" + n.ControlAddr() + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("control %s: %d, want 404", p, resp.StatusCode)
		}
	}
}

// TestControl_HealthSince: a health check that sends back the version of
// the last answer gets only the sites whose release changed since.
func TestControl_HealthSince(t *testing.T) {
	n, m := openActive(t)
	get := func(since string) orchard.Health {
		t.Helper()
		u := "http://" + n.ControlAddr() + orchard.HealthPath
		if since != "" {
			u += "?since=" + url.QueryEscape(since)
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var h orchard.Health
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	full := get("")
	if full.Delta || full.Version == "" || full.Releases["a.test"] != m.ID() {
		t.Fatalf("first check: %+v", full)
	}
	if h := get(full.Version); !h.Delta || len(h.Releases) != 0 || h.Version != full.Version {
		t.Errorf("nothing changed: %+v, want an empty delta", h)
	}
	other := testSite
	other.Host = "b.test"
	mb := build(t, n.Store(), other, siteFiles())
	if err := activate(n, mb); err != nil {
		t.Fatal(err)
	}
	h := get(full.Version)
	if !h.Delta || len(h.Releases) != 1 || h.Releases["b.test"] != mb.ID() || h.Version == full.Version {
		t.Errorf("after b.test's activation: %+v, want a delta of b.test alone", h)
	}
	if h := get("another-process-1"); h.Delta || len(h.Releases) != 2 {
		t.Errorf("unknown version: %+v, want every release", h)
	}
}

// TestControl_Handler: /_orchard/v1/ goes to the handler publish provides,
// also when it is given after Open.
func TestControl_Handler(t *testing.T) {
	n := mustOpenNode(t, t.TempDir())
	n.SetControlHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	resp, err := http.Get("http://" + n.ControlAddr() + "/_orchard/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Fatalf("status via handler: %d", resp.StatusCode)
	}
}

// TestServe_Cache: a cache smaller than the site still serves every file
// right, from memory or from disk.
func TestServe_Cache(t *testing.T) {
	dir := t.TempDir()
	n := node.New(node.Config{Dir: dir, CacheBytes: 4096})
	if err := n.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	fs := files{}
	for i := 0; i < 40; i++ {
		fs[fmt.Sprintf("/p%d/", i)] = [2]string{"text/html", fmt.Sprintf("<p>%d</p>%s", i, strings.Repeat("x", i*40))}
	}
	fs["/big.bin"] = [2]string{"application/octet-stream", strings.Repeat("b", 10000)}
	m := build(t, n.Store(), testSite, fs)
	if err := activate(n, m); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		for p, v := range fs {
			_, body := get(t, n.Addr(), "a.test", p)
			if string(body) != v[1] {
				t.Fatalf("%s: body %.40q", p, body)
			}
		}
		resp, body := get(t, n.Addr(), "a.test", "/big.bin", "Range: bytes=9990-\r\n")
		if resp.StatusCode != 206 || string(body) != "bbbbbbbbbb" {
			t.Fatalf("range of an uncached blob: %d %q", resp.StatusCode, body)
		}
	}
	if held := gauge(t, n, "orchard_node_cache_bytes"); held > 4096 {
		t.Fatalf("cache holds %v bytes, over its 4096 bound", held)
	}
}

// TestNode_RestartBroken: a site whose active release cannot be loaded
// answers 503; the node and its other sites keep serving.
func TestNode_RestartBroken(t *testing.T) {
	dir := t.TempDir()
	n := node.New(node.Config{Dir: dir})
	if err := n.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	good := build(t, n.Store(), testSite, siteFiles())
	if err := activate(n, good); err != nil {
		t.Fatal(err)
	}
	// The broken site's release is active on disk, but its blobs were
	// built into another store: its settings blob is missing here.
	other, err := release.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	broken := build(t, other, orchard.Site{Host: "b.test"}, files{"/": {"text/plain", "b"}})
	id, err := n.Store().SaveManifest(broken)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sites", "b.test", "active"), []byte(id+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n.Close()
	n2 := mustOpenNode(t, dir)
	if resp, _ := get(t, n2.Addr(), "b.test", "/"); resp.StatusCode != 503 {
		t.Fatalf("broken site: %d, want 503", resp.StatusCode)
	}
	if resp, _ := get(t, n2.Addr(), "a.test", "/"); resp.StatusCode != 200 {
		t.Fatalf("good site: %d, want 200", resp.StatusCode)
	}
}

// TestNode_RestartPacked: a node restarted from a store whose blobs are all
// in pack files serves the same release, small blobs from its cache and a
// large one streamed from the pack.
func TestNode_RestartPacked(t *testing.T) {
	dir := t.TempDir()
	n := node.New(node.Config{Name: "n", Dir: dir, CacheBytes: 64 << 10})
	if err := n.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	fs := siteFiles()
	fs["/big.bin"] = [2]string{"application/octet-stream", strings.Repeat("0123456789", 4000)} // over CacheBytes/8
	m := build(t, n.Store(), testSite, fs)
	if err := activate(n, m); err != nil {
		t.Fatal(err)
	}
	before := map[string]string{}
	for p := range fs {
		_, body := get(t, n.Addr(), "a.test", p)
		before[p] = string(body)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != "packs" {
			t.Fatalf("blobs/%s: the build wrote loose blobs", e.Name())
		}
	}
	packs, _ := filepath.Glob(filepath.Join(dir, "blobs", "packs", "*.pack"))
	if len(packs) == 0 {
		t.Fatal("no pack file")
	}
	n2 := mustOpenNode(t, dir)
	for round := range 2 { // from disk, then from the cache
		for p, v := range fs {
			resp, body := get(t, n2.Addr(), "a.test", p)
			if resp.StatusCode != 200 || resp.Header.Get("X-Orchard-Release") != m.ID() || string(body) != v[1] || string(body) != before[p] {
				t.Fatalf("round %d %s: %d release %q body %.40q", round, p, resp.StatusCode, resp.Header.Get("X-Orchard-Release"), body)
			}
		}
	}
	resp, body := get(t, n2.Addr(), "a.test", "/big.bin", "Range: bytes=39990-\r\n")
	if resp.StatusCode != 206 || string(body) != "0123456789" {
		t.Fatalf("range of the streamed blob: %d %q", resp.StatusCode, body)
	}
}

// gauge returns the value of the node's metric name (one without labels).
func gauge(t *testing.T, n *node.Node, name string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(n.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
