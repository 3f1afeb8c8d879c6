package storetest

import (
	"testing"

	orchard "github.com/orchardhq/orchard"
)

// sampleContent is a small but complete site with explicit times, given
// deliberately out of order.
func sampleContent(host string) *orchard.SiteContent {
	return &orchard.SiteContent{
		Site: orchard.Site{Host: host, Aliases: []string{"www." + host}, Title: "Sample", Description: "A sample.",
			Scheme: "https", CacheControl: "public, max-age=10", FeedSize: 5, Created: at(1), Updated: at(2),
			Redirects: []orchard.Redirect{{From: "/2019/01/a/", To: "/news/a/"}, {From: "/old.html", To: "https://example.org/x?y=1"}}},
		Categories: []orchard.Category{
			{Path: "/news/tech/", Title: "Tech", Sort: 1, Created: at(3), Updated: at(3)},
			{Path: "/news/", Title: "News", Description: "All news", Created: at(3), Updated: at(4)},
		},
		Pages: []orchard.Page{
			{Path: "/news/tech/b/", Category: "/news/tech/", Title: "B", Layout: "post", Format: "markdown", Body: "# B", Published: true, Created: at(5), Updated: at(6)},
			{Path: "/", Title: "Home", Layout: "home", Format: "html", Body: "<p>home</p>", Published: true, Created: at(5), Updated: at(5)},
			{Path: "/news/a/", Category: "/news/", Title: "A", Layout: "post", Format: "markdown", Body: "a", Description: "d", Created: at(7), Updated: at(8)},
		},
		Assets: []orchard.Asset{
			{Path: "/theme/style.css", ContentType: "text/css", Data: []byte("body{}"), Updated: at(9)},
			{Path: "/img/x.bin", ContentType: "application/octet-stream", Data: allBytes(), Updated: at(9)},
		},
		Templates: []orchard.Template{
			{Name: "partials/footer.html", Body: "<footer/>", Updated: at(10)},
			{Name: "layouts/post.html", Body: "{{.Title}}", Updated: at(10)},
		},
		Users: []orchard.User{
			{Site: host, Name: "zed", PasswordHash: "h2", Created: at(11)},
			{Site: host, Name: "admin", PasswordHash: "h1", Created: at(11)},
		},
	}
}

// sorted returns c with every list sorted as LoadSite returns it, and the
// prefix the store sets.
func sorted(c *orchard.SiteContent) *orchard.SiteContent {
	out := *c
	out.Site.Prefix = orchard.TablePrefix(c.Site.Host)
	out.Categories = []orchard.Category{c.Categories[1], c.Categories[0]}
	out.Pages = []orchard.Page{c.Pages[1], c.Pages[2], c.Pages[0]}
	out.Assets = []orchard.Asset{c.Assets[1], c.Assets[0]}
	out.Templates = []orchard.Template{c.Templates[1], c.Templates[0]}
	out.Users = []orchard.User{c.Users[1], c.Users[0]}
	return &out
}

func testLoadSite(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		s := mustOpen(t, open)
		ctx := t.Context()
		in := sampleContent("example.com")
		site := in.Site
		wantOK(t, "CreateSite", s.CreateSite(ctx, &site))
		for i := range in.Categories {
			c := in.Categories[len(in.Categories)-1-i] // parents first
			wantOK(t, "PutCategory", s.PutCategory(ctx, "example.com", &c))
		}
		for _, p := range in.Pages {
			wantOK(t, "PutPage", s.PutPage(ctx, "example.com", &p))
		}
		for _, a := range in.Assets {
			wantOK(t, "PutAsset", s.PutAsset(ctx, "example.com", &a))
		}
		for _, tm := range in.Templates {
			wantOK(t, "PutTemplate", s.PutTemplate(ctx, "example.com", &tm))
		}
		for _, u := range in.Users {
			wantOK(t, "PutUser", s.PutUser(ctx, &u))
		}
		wantOK(t, "PutUser(cluster)", s.PutUser(ctx, &orchard.User{Name: "root", PasswordHash: "x"}))
		other := sampleContent("other.com")
		wantOK(t, "ReplaceSite(other)", s.ReplaceSite(ctx, other, false))

		got, err := s.LoadSite(ctx, "EXAMPLE.com")
		wantOK(t, "LoadSite", err)
		want := sorted(in)
		same(t, "LoadSite.Site", got.Site, want.Site)
		same(t, "LoadSite.Categories", got.Categories, want.Categories)
		same(t, "LoadSite.Pages", got.Pages, want.Pages)
		same(t, "LoadSite.Assets", got.Assets, want.Assets)
		same(t, "LoadSite.Templates", got.Templates, want.Templates)
		same(t, "LoadSite.Users", got.Users, want.Users)
	})
	t.Run("Empty", func(t *testing.T) {
		s := mustOpen(t, open)
		mustCreateSite(t, s, "example.com")
		got, err := s.LoadSite(t.Context(), "example.com")
		wantOK(t, "LoadSite", err)
		if got.Site.Host != "example.com" || len(got.Categories)+len(got.Pages)+len(got.Assets)+len(got.Templates)+len(got.Users) != 0 {
			t.Errorf("empty site loaded as %+v", got)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s := mustOpen(t, open)
		for _, h := range []string{"missing.com", "../etc", ""} {
			_, err := s.LoadSite(t.Context(), h)
			wantCode(t, "LoadSite("+h+")", err, orchard.ENOTFOUND)
		}
	})
}

func testReplaceSite(t *testing.T, open Opener) {
	const host = "example.com"
	load := func(t *testing.T, s orchard.Store) *orchard.SiteContent {
		t.Helper()
		c, err := s.LoadSite(t.Context(), host)
		wantOK(t, "LoadSite", err)
		return c
	}
	t.Run("Create", func(t *testing.T) {
		s := mustOpen(t, open)
		in := sampleContent(host)
		before := show(*in)
		wantOK(t, "ReplaceSite", s.ReplaceSite(t.Context(), in, false))
		if show(*in) != before {
			t.Errorf("ReplaceSite modified its input")
		}
		same(t, "loaded after ReplaceSite", load(t, s), sorted(in))
		if _, err := s.LookupHost(t.Context(), "www."+host); err != nil {
			t.Errorf("alias not registered: %v", err)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		s := mustOpen(t, open)
		ctx := t.Context()
		wantOK(t, "ReplaceSite", s.ReplaceSite(ctx, sampleContent(host), false))
		before := show(load(t, s))
		next := sampleContent(host)
		next.Pages = next.Pages[1:2]
		wantCode(t, "ReplaceSite(replace=false) on an existing site", s.ReplaceSite(ctx, next, false), orchard.ECONFLICT)
		// An alias another site holds.
		clash := sampleContent("other.com")
		clash.Site.Aliases = []string{"www." + host}
		wantCode(t, "ReplaceSite with a taken alias", s.ReplaceSite(ctx, clash, false), orchard.ECONFLICT)
		if _, err := s.Site(ctx, "other.com"); orchard.ErrorCode(err) != orchard.ENOTFOUND {
			t.Errorf("failed ReplaceSite left other.com behind: %v", err)
		}
		if after := show(load(t, s)); after != before {
			t.Errorf("refused ReplaceSite changed the site:\nbefore %s\n after %s", before, after)
		}
	})
	t.Run("Replace", func(t *testing.T) {
		s := mustOpen(t, open)
		ctx := t.Context()
		wantOK(t, "ReplaceSite", s.ReplaceSite(ctx, sampleContent(host), false))
		next := &orchard.SiteContent{
			Site:       orchard.Site{Host: host, Title: "Replaced", Created: at(1), Updated: at(20)},
			Categories: []orchard.Category{{Path: "/blog/", Title: "Blog", Created: at(20), Updated: at(20)}},
			Pages:      []orchard.Page{{Path: "/blog/x/", Category: "/blog/", Title: "X", Layout: "post", Format: "markdown", Created: at(20), Updated: at(21)}},
		}
		wantOK(t, "ReplaceSite(replace)", s.ReplaceSite(ctx, next, true))
		want := *next
		want.Site.Prefix, want.Site.Scheme, want.Site.CacheControl, want.Site.FeedSize =
			orchard.TablePrefix(host), orchard.DefaultScheme, orchard.DefaultCacheControl, orchard.DefaultFeedSize
		same(t, "replaced site", load(t, s), &want)
		if _, err := s.LookupHost(ctx, "www."+host); orchard.ErrorCode(err) != orchard.ENOTFOUND {
			t.Errorf("the old alias survived a replace: %v", err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			spoil func(c *orchard.SiteContent)
			code  string
		}{
			{"Page", func(c *orchard.SiteContent) { c.Pages[1].Path = "/../etc/" }, orchard.EINVALID},
			{"PageTitle", func(c *orchard.SiteContent) { c.Pages[2].Title = "" }, orchard.EINVALID},
			{"Category", func(c *orchard.SiteContent) { c.Categories[0].Path = "/" }, orchard.EINVALID},
			{"Asset", func(c *orchard.SiteContent) { c.Assets[1].ContentType = "" }, orchard.EINVALID},
			{"Template", func(c *orchard.SiteContent) { c.Templates[1].Name = "x.html" }, orchard.EINVALID},
			{"User", func(c *orchard.SiteContent) { c.Users[1].PasswordHash = "" }, orchard.EINVALID},
			{"Site", func(c *orchard.SiteContent) { c.Site.Scheme = "ftp" }, orchard.EINVALID},
			{"DuplicatePage", func(c *orchard.SiteContent) { c.Pages = append(c.Pages, c.Pages[0]) }, orchard.EINVALID},
			{"MissingCategory", func(c *orchard.SiteContent) { c.Categories = c.Categories[:1] }, orchard.ENOTFOUND},
			{"MissingParent", func(c *orchard.SiteContent) {
				c.Categories = c.Categories[:1]
				c.Pages = c.Pages[1:2]
			}, orchard.ENOTFOUND},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := mustOpen(t, open)
				ctx := t.Context()
				// On a new site: nothing is created.
				bad := sampleContent(host)
				tc.spoil(bad)
				wantCode(t, "ReplaceSite(new)", s.ReplaceSite(ctx, bad, false), tc.code)
				if _, err := s.Site(ctx, host); orchard.ErrorCode(err) != orchard.ENOTFOUND {
					t.Errorf("a failed ReplaceSite created the site: %v", err)
				}
				if _, err := s.LookupHost(ctx, "www."+host); orchard.ErrorCode(err) != orchard.ENOTFOUND {
					t.Errorf("a failed ReplaceSite registered an alias: %v", err)
				}
				// On an existing site: nothing changes.
				wantOK(t, "ReplaceSite", s.ReplaceSite(ctx, sampleContent(host), false))
				before := show(load(t, s))
				bad = sampleContent(host)
				bad.Site.Title = "Changed"
				tc.spoil(bad)
				wantCode(t, "ReplaceSite(replace)", s.ReplaceSite(ctx, bad, true), tc.code)
				if after := show(load(t, s)); after != before {
					t.Errorf("a failed ReplaceSite changed the site:\nbefore %s\n after %s", before, after)
				}
			})
		}
	})
}
