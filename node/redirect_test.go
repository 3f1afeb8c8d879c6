package node_test

import (
	"testing"

	"github.com/orchardhq/orchard"
)

// TestServeRedirects: the site's redirects, from the active release,
// answer 301 with their Location in each form of an old directory path;
// content the release serves wins over a redirect from the same path.
func TestServeRedirects(t *testing.T) {
	n := mustOpenNode(t, t.TempDir())
	site := testSite
	site.Redirects = []orchard.Redirect{
		{From: "/2019/01/hello/", To: "/news/hello/"},
		{From: "/caf%C3%A9/", To: "/news/"},
		{From: "/feed.rss", To: "https://feeds.example.org/a?x=1"},
		{From: "/news/hello/", To: "/elsewhere/"}, // the page wins
		{From: "/old-slug", To: "/news/"},
		{From: "/100%25/", To: "/news/"},
	}
	m := build(t, n.Store(), site, siteFiles())
	if err := n.Activate(m.Site, m.ID(), m, nil); err != nil {
		t.Fatal(err)
	}
	id := m.ID()
	tests := []struct {
		name, method, target, host string
		status                     int
		location                   string
	}{
		{"OK", "GET", "/2019/01/hello/", "a.test", 301, "/news/hello/"},
		{"NoSlash", "GET", "/2019/01/hello", "a.test", 301, "/news/hello/"},
		{"IndexFile", "GET", "/2019/01/hello/index.html", "a.test", 301, "/news/hello/"},
		{"QueryDropped", "GET", "/2019/01/hello/?utm=x", "a.test", 301, "/news/hello/"},
		{"Head", "HEAD", "/2019/01/hello/", "a.test", 301, "/news/hello/"},
		{"Alias", "GET", "/2019/01/hello/", "www.a.test", 301, "/news/hello/"},
		{"Escaped", "GET", "/caf%C3%A9/", "a.test", 301, "/news/"},
		{"EscapedLowerHex", "GET", "/caf%c3%a9/", "a.test", 301, "/news/"},
		{"Percent", "GET", "/100%25/", "a.test", 301, "/news/"},
		{"File", "GET", "/feed.rss", "a.test", 301, "https://feeds.example.org/a?x=1"},
		{"FileNoDirForm", "GET", "/feed.rss/", "a.test", 404, ""},
		{"SlugSlash", "GET", "/old-slug/", "a.test", 301, "/news/"},
		{"ContentWins", "GET", "/news/hello/", "a.test", 200, ""},
		{"OtherPathNotFound", "GET", "/2019/01/", "a.test", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := raw(t, n.Addr(), tt.method+" "+tt.target+" HTTP/1.1\r\nHost: "+tt.host+"\r\nConnection: close\r\n\r\n")
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s: status %d, want %d (body %.80q)", tt.method, tt.target, resp.StatusCode, tt.status, body)
			}
			if got := resp.Header.Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			if got := resp.Header.Get(orchard.ReleaseHeader); got != id {
				t.Errorf("%s %q, want %q", orchard.ReleaseHeader, got, id)
			}
			if tt.status == 301 {
				if got := resp.Header.Get("Cache-Control"); got != site.CacheControl {
					t.Errorf("Cache-Control %q, want the site's %q", got, site.CacheControl)
				}
			}
		})
	}

	// A release without the redirect stops answering it.
	m2 := build(t, n.Store(), testSite, siteFiles())
	if err := n.Activate(m2.Site, m2.ID(), m2, nil); err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(t, n.Addr(), "a.test", "/2019/01/hello/"); resp.StatusCode != 404 {
		t.Errorf("after a release without redirects: status %d, want 404", resp.StatusCode)
	}
}
