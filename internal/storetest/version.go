package storetest

import (
	"testing"

	orchard "github.com/orchardhq/orchard"
)

// testSiteVersion checks Store.SiteVersion: it answers for the host and its
// aliases, changes with every kind of content write (and with nothing
// else: reads, a failed write, a user), and a site made again under the
// same host does not give a version the old one gave.
func testSiteVersion(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	ctx := t.Context()
	const host = "example.com"
	wantOK(t, "ReplaceSite", s.ReplaceSite(ctx, sampleContent(host), false))
	wantOK(t, "UpdateSite", s.UpdateSite(ctx, &orchard.Site{Host: host, Aliases: []string{"www.example.com"}, Title: "Example"}))
	version := func(what string) int64 {
		t.Helper()
		site, v, err := s.SiteVersion(ctx, "WWW.Example.com.")
		wantOK(t, "SiteVersion after "+what, err)
		if site != host {
			t.Errorf("SiteVersion after %s: site %q, want %q", what, site, host)
		}
		return v
	}
	last := version("UpdateSite")
	seen := map[int64]string{last: "UpdateSite"} // the step that gave each version
	changed := func(what string, err error) {
		t.Helper()
		wantOK(t, what, err)
		v := version(what)
		if prev, ok := seen[v]; ok {
			t.Errorf("SiteVersion after %s = %d, as after %s: want a version not given before", what, v, prev)
		}
		seen[v], last = what, v
	}
	unchanged := func(what string) {
		t.Helper()
		if v := version(what); v != last {
			t.Errorf("SiteVersion after %s = %d, want it unchanged (%d)", what, v, last)
		}
	}

	changed("PutCategory", s.PutCategory(ctx, host, &orchard.Category{Path: "/v/", Title: "V"}))
	changed("PutPage", s.PutPage(ctx, host, &orchard.Page{Path: "/v/p/", Category: "/v/", Title: "P", Body: "b"}))
	changed("PutPage again", s.PutPage(ctx, host, &orchard.Page{Path: "/v/p/", Category: "/v/", Title: "P2", Body: "b"}))
	changed("PutAsset", s.PutAsset(ctx, host, &orchard.Asset{Path: "/v.css", ContentType: "text/css", Data: []byte("x")}))
	changed("PutTemplate", s.PutTemplate(ctx, host, &orchard.Template{Name: "partials/v.html", Body: "v"}))
	site, err := s.Site(ctx, host)
	wantOK(t, "Site", err)
	site.Title = "Changed"
	changed("UpdateSite", s.UpdateSite(ctx, site))

	_, err = s.LoadSite(ctx, host)
	wantOK(t, "LoadSite", err)
	_, err = s.Pages(ctx, host, orchard.PageFilter{})
	wantOK(t, "Pages", err)
	unchanged("reads")
	wantCode(t, "PutPage in a missing category", s.PutPage(ctx, host, &orchard.Page{Path: "/x/p/", Category: "/x/", Title: "P"}), orchard.ENOTFOUND)
	wantCode(t, "DeleteCategory of a category with pages", s.DeleteCategory(ctx, host, "/v/"), orchard.ECONFLICT)
	unchanged("failed writes")
	wantOK(t, "PutUser", s.PutUser(ctx, &orchard.User{Site: host, Name: "ann", PasswordHash: "$2a$10$abcdefghijklmnopqrstuv"}))
	unchanged("PutUser")
	mustCreateSite(t, s, "other.example")
	mustPutCategory(t, s, "other.example", "/o/")
	unchanged("a write to another site")

	changed("DeletePage", s.DeletePage(ctx, host, "/v/p/"))
	changed("DeleteCategory", s.DeleteCategory(ctx, host, "/v/"))
	changed("DeleteAsset", s.DeleteAsset(ctx, host, "/v.css"))
	changed("DeleteTemplate", s.DeleteTemplate(ctx, host, "partials/v.html"))
	changed("ReplaceSite(replace)", s.ReplaceSite(ctx, sampleContent(host), true))

	wantOK(t, "DropSite", s.DropSite(ctx, host))
	_, _, err = s.SiteVersion(ctx, host)
	wantCode(t, "SiteVersion of a dropped site", err, orchard.ENOTFOUND)
	_, _, err = s.SiteVersion(ctx, "www.example.com")
	wantCode(t, "SiteVersion of a dropped site's alias", err, orchard.ENOTFOUND)
	_, _, err = s.SiteVersion(ctx, "../etc")
	wantCode(t, "SiteVersion of an invalid host", err, orchard.ENOTFOUND)
	mustCreateSite(t, s, host, "www.example.com")
	changed("DropSite and CreateSite", nil)
}
