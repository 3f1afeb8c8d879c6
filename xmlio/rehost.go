package xmlio

import (
	"fmt"
	"mime"
	"slices"
	"strings"

	orchard "github.com/orchardhq/orchard"
)

// RehostReport says what Rehost changed, for the import's step lines.
type RehostReport struct {
	From, To string
	// Renamed are the old host and its aliases whose links were rewritten.
	Renamed []string
	// Links is how many absolute links were rewritten in all.
	Links int
	// Items counts what held a rewritten link (or a title equal to the old
	// host), by kind: "settings", "category", "page", "template", "asset".
	Items map[string]int
	// DroppedAliases are the aliases the site no longer has.
	DroppedAliases []string
}

// Summary says in one line what was renamed, e.g. "renamed example.com ->
// staging.example.com in 12 pages, 1 template (14 links)".
func (r RehostReport) Summary() string {
	var parts []string
	for _, k := range []string{"settings", "category", "page", "template", "asset"} {
		n := r.Items[k]
		switch {
		case n == 0:
		case k == "settings":
			parts = append(parts, "the settings")
		case n == 1:
			parts = append(parts, fmt.Sprintf("1 %s", k))
		case k == "category":
			parts = append(parts, fmt.Sprintf("%d categories", n))
		default:
			parts = append(parts, fmt.Sprintf("%d %ss", n, k))
		}
	}
	from := r.From
	if len(r.Renamed) > 1 {
		from += " (and " + strings.Join(r.Renamed[1:], ", ") + ")"
	}
	if len(parts) == 0 {
		return fmt.Sprintf("renamed %s -> %s (no absolute links to rewrite)", from, r.To)
	}
	links := "links"
	if r.Links == 1 {
		links = "link"
	}
	return fmt.Sprintf("renamed %s -> %s in %s (%d %s)", from, r.To, strings.Join(parts, ", "), r.Links, links)
}

// Rehost moves decoded content to the host to, as when a site exported from
// one host is imported under another: absolute links to the old host or any
// of its aliases (http://, https:// or scheme-relative, in titles,
// descriptions, bodies, templates, text assets and redirect targets) are rewritten to point
// at to, a site title equal to the old host becomes to, users move with the
// site, and the aliases are dropped unless keepAliases (they would clash
// with the site they came from). The sitemap and feed follow the host by
// themselves. to must be normalised (orchard.NormalizeHost). Rehost with
// to equal to the file's host changes nothing.
func Rehost(c *orchard.SiteContent, to string, keepAliases bool) RehostReport {
	from := c.Site.Host
	rep := RehostReport{From: from, To: to, Items: map[string]int{}}
	if from == to {
		return rep
	}
	rep.Renamed = append([]string{from}, c.Site.Aliases...)
	rw := hostRewriter{hosts: rep.Renamed, to: to}
	// fix rewrites the strings of one item and counts it once.
	fix := func(kind string, ss ...*string) {
		changed := false
		for _, s := range ss {
			n := 0
			*s, n = rw.rewrite(*s)
			rep.Links += n
			changed = changed || n > 0
		}
		if changed {
			rep.Items[kind]++
		}
	}
	s := &c.Site
	titleRenamed := s.Title == from
	if titleRenamed {
		s.Title = to
	}
	fix("settings", &s.Description)
	if titleRenamed && rep.Items["settings"] == 0 {
		rep.Items["settings"]++
	}
	for i := range s.Redirects {
		fix("redirect", &s.Redirects[i].To)
	}
	for i := range c.Categories {
		cat := &c.Categories[i]
		fix("category", &cat.Title, &cat.Description)
	}
	for i := range c.Pages {
		p := &c.Pages[i]
		fix("page", &p.Title, &p.Description, &p.Body)
	}
	for i := range c.Templates {
		t := &c.Templates[i]
		fix("template", &t.Body)
	}
	for i := range c.Assets {
		a := &c.Assets[i]
		if !textType(a.ContentType) {
			continue
		}
		body, n := rw.rewrite(string(a.Data))
		if n > 0 {
			a.Data = []byte(body)
			rep.Links += n
			rep.Items["asset"]++
		}
	}
	for i := range c.Users {
		c.Users[i].Site = to
	}
	s.Host = to
	if keepAliases {
		// The new host may be one of the old aliases: it is the host now.
		s.Aliases = slices.DeleteFunc(s.Aliases, func(a string) bool { return a == to })
	} else {
		rep.DroppedAliases, s.Aliases = s.Aliases, nil
	}
	return rep
}

// textType reports whether an asset of content type ct is text that may
// hold links: text/*, and the JSON, XML (SVG) and JavaScript types.
func textType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+xml"), strings.HasSuffix(mt, "+json"),
		mt == "application/json", mt == "application/xml",
		mt == "application/javascript", mt == "application/x-javascript",
		mt == "application/manifest+json":
		return true
	}
	return false
}

// hostRewriter rewrites "//HOST" in absolute and scheme-relative URLs.
type hostRewriter struct {
	hosts []string // normalised (lower case)
	to    string
}

// rewrite returns s with every link to one of the hosts pointing at to,
// and how many it rewrote. A host matches case-insensitively after "//"
// that does not continue a path ("a//b") and only as a whole name:
// "//example.com.evil.org" and "//example.community" do not match
// "example.com", and neither does "info@example.com" (no "//").
func (rw hostRewriter) rewrite(s string) (string, int) {
	if !strings.Contains(s, "//") {
		return s, 0
	}
	var b strings.Builder
	n, done := 0, 0
	for i := 0; ; {
		j := strings.Index(s[i:], "//")
		if j < 0 {
			break
		}
		at := i + j + 2 // the host's first byte
		i = at
		if at > 2 && isHostByte(s[at-3]) {
			continue // a//b: a path, not an authority
		}
		for _, h := range rw.hosts {
			end := at + len(h)
			if end > len(s) || !strings.EqualFold(s[at:end], h) || !hostEnds(s, end) {
				continue
			}
			b.WriteString(s[done:at])
			b.WriteString(rw.to)
			done, i = end, end
			n++
			break
		}
	}
	if n == 0 {
		return s, 0
	}
	b.WriteString(s[done:])
	return b.String(), n
}

// hostEnds reports whether a host name ends at s[i]: the end of s, or a
// byte no host name holds (a final dot only when the name ends with it).
func hostEnds(s string, i int) bool {
	if i == len(s) {
		return true
	}
	if s[i] == '.' {
		return i+1 == len(s) || !isHostByte(s[i+1])
	}
	return !isHostByte(s[i])
}

// isHostByte reports whether c may appear in a host name (or continue a
// word that a host name cannot end in).
func isHostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c >= 0x80
}
