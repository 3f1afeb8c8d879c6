package wordpress_test

import (
	"slices"
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
)

// TestConvertRedirects: every old URL whose path changed becomes a redirect
// of the site to the new path; an old URL the site still serves gets none,
// and one with a query (/?p=11) cannot be a redirect and is reported.
func TestConvertRedirects(t *testing.T) {
	c, rep := mustConvert(t, true)
	got := map[string]string{}
	for _, r := range c.Site.Redirects {
		got[r.From] = r.To
	}
	for old, new := range rep.Moved {
		if strings.Contains(old, "?") {
			continue
		}
		if got[old] != new {
			t.Errorf("moved %s -> %s has redirect to %q", old, new, got[old])
		}
	}
	for _, want := range []orchard.Redirect{
		{From: "/2024/03/harvest-starts/", To: "/news/harvest/harvest-starts/"},
		{From: "/category/news/harvest/", To: "/news/harvest/"},
	} {
		if got[want.From] != want.To {
			t.Errorf("redirect from %s = %q, want %q (all: %v)", want.From, got[want.From], want.To, c.Site.Redirects)
		}
	}
	if _, ok := got["/about/"]; ok {
		t.Errorf("/about/ is served by the site, yet redirected: %v", c.Site.Redirects)
	}
	if rep.Redirects != len(c.Site.Redirects) || rep.Redirects == 0 {
		t.Errorf("report counts %d redirects, the site has %d", rep.Redirects, len(c.Site.Redirects))
	}
	if !slices.ContainsFunc(rep.Skipped, func(s string) bool { return strings.HasPrefix(s, "redirect from /?p=11:") }) {
		t.Errorf("the old URL /?p=11 is not reported as skipped: %q", rep.Skipped)
	}
	site := c.Site
	if err := site.Validate(); err != nil {
		t.Errorf("the site's redirects do not validate: %v", err)
	}
}
