package release

import (
	"fmt"
	"html"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"

	orchard "github.com/orchardhq/orchard"
)

// BrokenLink is a link (href or src) in an HTML file of a release to a path
// of its own site that the release does not serve.
type BrokenLink struct {
	Page   string // manifest key of the page, e.g. "/news/index.html"
	Target string // the path it points to, e.g. "/theme/gone.css"
}

func (l BrokenLink) String() string { return l.Page + " -> " + l.Target }

// linkAttrRe finds the values of href and src attributes as the renderer
// and hand-written templates write them (double-quoted).
var linkAttrRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\s(?:href|src)\s*=\s*"([^"]*)"`)
})

// CheckLinks reads every HTML file of m from blobs and returns its links to
// the site's own paths (relative, site-absolute, or absolute to the site's
// host) that m does not serve, sorted, at most max of them (0: 1,000). A
// path served as a directory ("/x" for "/x/index.html") counts as served.
// Links to other hosts, mail and fragments are not checked.
func CheckLinks(m *orchard.Manifest, blobs *Blobs, max int) ([]BrokenLink, error) {
	return checkLinks(m, blobs.Get, max, nil)
}

// LinkCache remembers the links of the HTML files LinkCache.CheckLinks read
// before. A file is a blob named by its content, so the links it holds
// never change: after an edit, a check reads and scans only the pages the
// build rendered again, not every page of the site. The zero value is
// ready; it is safe for concurrent use and holds at most
// maxLinkCacheBytes of links (it starts over when full).
type LinkCache struct {
	mu    sync.Mutex
	links map[linkSource][]string
	bytes int
}

// linkSource is an HTML file as a check of links sees it: its blob, where
// it is served (relative links resolve against it) and the site's host.
type linkSource struct{ sha, key, site string }

// maxLinkCacheBytes bounds what a LinkCache holds: about the links of
// 10,000 pages of 100 links each.
const maxLinkCacheBytes = 32 << 20

// CheckLinks is the package's CheckLinks, reading only the HTML files whose
// links c does not hold yet.
func (c *LinkCache) CheckLinks(m *orchard.Manifest, blobs *Blobs, max int) ([]BrokenLink, error) {
	return checkLinks(m, blobs.Get, max, c)
}

func (c *LinkCache) get(src linkSource) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.links[src]
	return t, ok
}

func (c *LinkCache) put(src linkSource, targets []string) {
	n := len(src.sha) + len(src.key) + len(src.site) + 64
	for _, t := range targets {
		n += len(t) + 16
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.links == nil || c.bytes+n > maxLinkCacheBytes {
		c.links, c.bytes = map[linkSource][]string{}, 0
	}
	if _, ok := c.links[src]; !ok {
		c.links[src] = targets
		c.bytes += n
	}
}

// checkLinks is CheckLinks reading blobs with get, through cache unless it
// is nil.
func checkLinks(m *orchard.Manifest, get func(sha string) ([]byte, error), max int, cache *LinkCache) ([]BrokenLink, error) {
	max = orchard.OrDefault(max, 1000)
	var out []BrokenLink
	seen := map[BrokenLink]bool{}
	for key, e := range m.Files {
		if IsReserved(key) || !strings.HasPrefix(e.ContentType, "text/html") {
			continue
		}
		src := linkSource{sha: e.SHA256, key: key, site: m.Site}
		targets, ok := cache.lookup(src)
		if !ok {
			body, err := get(e.SHA256)
			if err != nil {
				return out, fmt.Errorf("check links of %s%s: %w", m.Site, key, err)
			}
			targets = ownLinks(body, key, m.Site)
			if cache != nil {
				cache.put(src, targets)
			}
		}
		for _, target := range targets {
			if serves(m, target) {
				continue
			}
			l := BrokenLink{Page: key, Target: target}
			if !seen[l] {
				seen[l] = true
				out = append(out, l)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Page != out[j].Page {
			return out[i].Page < out[j].Page
		}
		return out[i].Target < out[j].Target
	})
	if len(out) > max {
		out = out[:max]
	}
	return out, nil
}

// lookup is get on a cache that may be nil (none).
func (c *LinkCache) lookup(src linkSource) ([]string, bool) {
	if c == nil {
		return nil, false
	}
	return c.get(src)
}

// ownLinks returns the paths of the site that the HTML body served at key
// links to, in order, each once.
func ownLinks(body []byte, key, site string) []string {
	base := &url.URL{Path: key}
	var out []string
	seen := map[string]bool{}
	for _, sub := range linkAttrRe().FindAllSubmatch(body, -1) {
		target, ok := ownPath(base, site, html.UnescapeString(string(sub[1])))
		if ok && !seen[target] {
			seen[target] = true
			out = append(out, target)
		}
	}
	return out
}

// ownPath resolves a link of the page at base and returns the path it
// points to on the site itself; ok is false for other hosts, other schemes
// and links to the page itself.
func ownPath(base *url.URL, site, link string) (string, bool) {
	if link == "" || link[0] == '#' {
		return "", false
	}
	u, err := url.Parse(link)
	if err != nil {
		return "", false
	}
	if u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" {
		return "", false // mailto:, data:, tel:
	}
	if u.Host != "" && !strings.EqualFold(u.Hostname(), site) {
		return "", false
	}
	p := base.ResolveReference(u).Path
	if p == "" {
		return "", false
	}
	return p, true
}

// serves reports whether m answers a request for path p with a file: the
// file itself, or a directory's index (which the node redirects to).
func serves(m *orchard.Manifest, p string) bool {
	if _, ok := m.Files[orchard.ManifestKey(p)]; ok {
		return true
	}
	_, ok := m.Files[strings.TrimSuffix(p, "/")+"/index.html"]
	return ok
}
