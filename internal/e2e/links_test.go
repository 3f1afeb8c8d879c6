package e2e

import (
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/orchardhq/orchard/internal/sample"
)

// linkAttr finds the targets of href and src attributes.
var linkAttr = regexp.MustCompile(`\s(?:href|src)="([^"]*)"`)

// TestDemoLinks checks every link of the demo's sample sites as a visitor
// meets them, through the balancer: starting at each site's start page,
// every href and src of every page leads to something that answers 200, or
// leaves the site.
func TestDemoLinks(t *testing.T) {
	_, cfg := startSQLiteDemo(t)
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, port, _ := net.SplitHostPort(cfg.Balancer.Listen)
	for _, c := range sample.Sites() {
		host := c.Site.Host
		t.Run(host, func(t *testing.T) {
			const maxLinks = 2000
			queue := []string{"/"}
			from := map[string]string{"/": "(start)"}
			for len(queue) > 0 {
				p := queue[0]
				queue = queue[1:]
				req, _ := http.NewRequest("GET", "http://"+cfg.Balancer.Listen+p, nil)
				req.Host = host
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("GET %s: %v", p, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("%s (linked from %s): %s", p, from[p], resp.Status)
					continue
				}
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					continue
				}
				base := &url.URL{Scheme: "http", Host: host, Path: p}
				for _, m := range linkAttr.FindAllSubmatch(body, -1) {
					ref, err := url.Parse(html.UnescapeString(string(m[1])))
					if err != nil {
						t.Errorf("%s links to %q: %v", p, m[1], err)
						continue
					}
					u := base.ResolveReference(ref)
					if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() != host {
						continue // mail, another site
					}
					// Canonical, sitemap and feed links are absolute: they
					// must name the port the site is served on.
					if ref.IsAbs() && u.Port() != port {
						t.Errorf("%s links to %s: not the port the site is served on (%s)", p, u, port)
						continue
					}
					if _, seen := from[u.Path]; seen {
						continue
					}
					if len(from) >= maxLinks {
						t.Fatalf("more than %d distinct paths", maxLinks)
					}
					from[u.Path] = p
					queue = append(queue, u.Path)
				}
			}
			if len(from) < len(c.Pages) {
				t.Errorf("reached %d paths; the site has %d pages", len(from), len(c.Pages))
			}
			t.Logf("%s: %d paths, all 200", host, len(from))
		})
	}
}
