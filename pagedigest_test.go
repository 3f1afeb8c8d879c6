package orchard

import (
	"strings"
	"testing"
	"time"
)

func TestContentDigest(t *testing.T) {
	base := Page{Path: "/news/a/", Title: "A", Category: "/news/", Layout: "post", Format: "markdown",
		Body: "body", Description: "d", Published: true, Created: time.Unix(1, 2), Updated: time.Unix(3, 4)}
	seen := map[string]string{}
	for name, edit := range map[string]func(p *Page){
		"base":        func(p *Page) {},
		"path":        func(p *Page) { p.Path = "/news/b/" },
		"title":       func(p *Page) { p.Title = "B" },
		"category":    func(p *Page) { p.Category = "" },
		"layout":      func(p *Page) { p.Layout = "page" },
		"format":      func(p *Page) { p.Format = "html" },
		"body":        func(p *Page) { p.Body = "body!" },
		"long body":   func(p *Page) { p.Body = strings.Repeat("x", 1000) },
		"description": func(p *Page) { p.Description = "" },
		"draft":       func(p *Page) { p.Published = false },
		"created":     func(p *Page) { p.Created = p.Created.Add(time.Nanosecond) },
		"updated":     func(p *Page) { p.Updated = time.Time{} },
		// Length prefixes: moving bytes from one field to the next is
		// a different page.
		"shifted": func(p *Page) { p.Title, p.Category = "A/news/", "" },
	} {
		p := base
		edit(&p)
		d := p.ContentDigest()
		if len(d) != 64 || !ValidSHA256(d) {
			t.Errorf("%s: digest %q is not 64 hex digits", name, d)
		}
		if other, dup := seen[d]; dup {
			t.Errorf("%s and %s digest alike", name, other)
		}
		seen[d] = name
	}
	// The digest ignores Digest itself and the times' locations.
	p, q := base, base
	q.Digest = "x"
	q.Created = q.Created.In(time.FixedZone("X", 3600))
	if p.ContentDigest() != q.ContentDigest() {
		t.Error("Digest or a time's location changed the digest")
	}
}
