package storetest

import (
	"fmt"
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
)

// testRedirects checks that a site's redirects are stored with its
// settings: created, read back sorted and cleaned by every read, replaced
// by UpdateSite, refused when invalid, gone with the site.
func testRedirects(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		s := mustOpen(t, open)
		ctx := t.Context()
		in := &orchard.Site{Host: "example.com", Aliases: []string{"www.example.com"}, Title: "Example",
			Redirects: []orchard.Redirect{
				{From: "/z/", To: "https://example.org/z"},
				{From: "/a//b/", To: "/new/b/"},
				{From: "/café.html", To: "/cafe/"},
			}}
		wantOK(t, "CreateSite", s.CreateSite(ctx, in))
		want := []orchard.Redirect{
			{From: "/a/b/", To: "/new/b/"},
			{From: "/caf%C3%A9.html", To: "/cafe/"},
			{From: "/z/", To: "https://example.org/z"},
		}
		same(t, "CreateSite left Redirects", in.Redirects, want)
		got, err := s.Site(ctx, "example.com")
		wantOK(t, "Site", err)
		same(t, "Site().Redirects", got.Redirects, want)
		got, err = s.LookupHost(ctx, "www.example.com")
		wantOK(t, "LookupHost", err)
		same(t, "LookupHost().Redirects", got.Redirects, want)
		mustCreateSite(t, s, "other.com")
		all, err := s.Sites(ctx)
		wantOK(t, "Sites", err)
		if len(all) != 2 {
			t.Fatalf("Sites: %d sites, want 2", len(all))
		}
		same(t, "Sites()[0].Redirects", all[0].Redirects, want)
		if len(all[1].Redirects) != 0 {
			t.Errorf("other.com has redirects %v, want none", all[1].Redirects)
		}
		c, err := s.LoadSiteIndex(ctx, "example.com")
		wantOK(t, "LoadSiteIndex", err)
		same(t, "LoadSiteIndex().Site.Redirects", c.Site.Redirects, want)

		_, v1, err := s.SiteVersion(ctx, "example.com")
		wantOK(t, "SiteVersion", err)
		got.Redirects = []orchard.Redirect{{From: "/only/", To: "/there/"}}
		wantOK(t, "UpdateSite", s.UpdateSite(ctx, got))
		_, v2, err := s.SiteVersion(ctx, "example.com")
		wantOK(t, "SiteVersion", err)
		if v2 == v1 {
			t.Errorf("SiteVersion stayed %d after the redirects changed", v1)
		}
		again, err := s.Site(ctx, "example.com")
		wantOK(t, "Site", err)
		same(t, "Site().Redirects after UpdateSite", again.Redirects, got.Redirects)

		again.Redirects = nil
		wantOK(t, "UpdateSite(no redirects)", s.UpdateSite(ctx, again))
		again, err = s.Site(ctx, "example.com")
		wantOK(t, "Site", err)
		if len(again.Redirects) != 0 {
			t.Errorf("Redirects after clearing = %v, want none", again.Redirects)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		s := mustOpen(t, open)
		ctx := t.Context()
		keep := []orchard.Redirect{{From: "/keep/", To: "/kept/"}}
		site := &orchard.Site{Host: "example.com", Title: "Example", Redirects: keep}
		wantOK(t, "CreateSite", s.CreateSite(ctx, site))
		for _, bad := range []orchard.Redirect{
			{From: "http://example.com/a/", To: "/b/"},
			{From: "/a/../b/", To: "/b/"},
			{From: "/a/", To: "/b/\r\nX: y"},
			{From: "/a/", To: "javascript:alert(1)"},
		} {
			up := *site
			up.Redirects = []orchard.Redirect{{From: "/fine/", To: "/x/"}, bad}
			wantCode(t, fmt.Sprintf("UpdateSite(%q -> %q)", bad.From, bad.To), s.UpdateSite(ctx, &up), orchard.EINVALID)
			wantCode(t, "CreateSite(bad redirect)", s.CreateSite(ctx, &orchard.Site{Host: "bad.com", Title: "B", Redirects: []orchard.Redirect{bad}}), orchard.EINVALID)
		}
		dup := *site
		dup.Redirects = []orchard.Redirect{{From: "/a/", To: "/x/"}, {From: "/a/", To: "/y/"}}
		wantCode(t, "UpdateSite(duplicate)", s.UpdateSite(ctx, &dup), orchard.EINVALID)
		got, err := s.Site(ctx, "example.com")
		wantOK(t, "Site", err)
		same(t, "Redirects after refused updates", got.Redirects, keep)
		if _, err := s.Site(ctx, "bad.com"); orchard.ErrorCode(err) != orchard.ENOTFOUND {
			t.Errorf("Site(bad.com) = %v, want ENOTFOUND", err)
		}
	})
	t.Run("Long", func(t *testing.T) {
		// The longest From and To accepted, and many redirects at once.
		s := mustOpen(t, open)
		ctx := t.Context()
		var rs []orchard.Redirect
		for i := range 1200 {
			rs = append(rs, orchard.Redirect{From: fmt.Sprintf("/%04d/", i), To: "/new/"})
		}
		long := orchard.Redirect{From: "/" + strings.Repeat("%C3%A9", 160) + "/", To: "https://example.org/" + strings.Repeat("x", 2000)}
		rs = append(rs, long)
		site := &orchard.Site{Host: "example.com", Title: "Example", Redirects: rs}
		wantOK(t, "CreateSite", s.CreateSite(ctx, site))
		got, err := s.Site(ctx, "example.com")
		wantOK(t, "Site", err)
		same(t, "Redirects", got.Redirects, site.Redirects)
	})
	t.Run("DropSite", func(t *testing.T) {
		s := mustOpen(t, open)
		ctx := t.Context()
		site := &orchard.Site{Host: "example.com", Title: "Example", Redirects: []orchard.Redirect{{From: "/a/", To: "/b/"}}}
		wantOK(t, "CreateSite", s.CreateSite(ctx, site))
		wantOK(t, "DropSite", s.DropSite(ctx, "example.com"))
		mustCreateSite(t, s, "example.com")
		got, err := s.Site(ctx, "example.com")
		wantOK(t, "Site", err)
		if len(got.Redirects) != 0 {
			t.Errorf("a site created again has the dropped site's redirects %v", got.Redirects)
		}
	})
}
