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
	if max <= 0 {
		max = 1000
	}
	var out []BrokenLink
	seen := map[BrokenLink]bool{}
	for key, e := range m.Files {
		if IsReserved(key) || !strings.HasPrefix(e.ContentType, "text/html") {
			continue
		}
		body, err := blobs.Get(e.SHA256)
		if err != nil {
			return out, fmt.Errorf("check links of %s%s: %w", m.Site, key, err)
		}
		base := &url.URL{Path: key}
		for _, sub := range linkAttrRe().FindAllSubmatch(body, -1) {
			target, ok := ownPath(base, m.Site, html.UnescapeString(string(sub[1])))
			if !ok || serves(m, target) {
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
