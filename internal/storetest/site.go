package storetest

import (
	"strings"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
)

func testSite(t *testing.T, open Opener) {
	t.Run("OK", func(t *testing.T) {
		s := mustOpen(t, open)
		ctx := t.Context()
		in := &orchard.Site{
			Host: "Example.COM.", Aliases: []string{"www.example.com", "Example.NET"},
			Title: "Example", Description: "A site.", Scheme: "https",
			CacheControl: "public, max-age=300", FeedSize: 7,
		}
		wantOK(t, "CreateSite", s.CreateSite(ctx, in))
		if in.Host != "example.com" || in.Prefix != orchard.TablePrefix("example.com") {
			t.Errorf("CreateSite left Host %q Prefix %q, want example.com and %q", in.Host, in.Prefix, orchard.TablePrefix("example.com"))
		}
		wantUTC(t, "Created", in.Created)
		wantUTC(t, "Updated", in.Updated)
		got, err := s.Site(ctx, "example.com")
		wantOK(t, "Site", err)
		same(t, "Site", got, in)
		got, err = s.Site(ctx, "EXAMPLE.com:8080")
		wantOK(t, "Site(non-canonical)", err)
		same(t, "Site(non-canonical)", got, in)
	})
	t.Run("Defaults", func(t *testing.T) {
		s := mustOpen(t, open)
		mustCreateSite(t, s, "example.com")
		got, err := s.Site(t.Context(), "example.com")
		wantOK(t, "Site", err)
		if got.Scheme != orchard.DefaultScheme || got.CacheControl != orchard.DefaultCacheControl || got.FeedSize != orchard.DefaultFeedSize {
			t.Errorf("defaults: got scheme %q cache %q feed %d", got.Scheme, got.CacheControl, got.FeedSize)
		}
		if len(got.Aliases) != 0 {
			t.Errorf("Aliases = %q, want none", got.Aliases)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		s := mustOpen(t, open)
		ctx := t.Context()
		mustCreateSite(t, s, "example.com", "www.example.com")
		for _, tc := range []struct {
			name    string
			host    string
			aliases []string
		}{
			{"SameHost", "example.com", nil},
			{"SameHostOtherCase", "EXAMPLE.com", nil},
			{"HostIsAlias", "www.example.com", nil},
			{"AliasIsHost", "other.com", []string{"example.com"}},
			{"AliasIsAlias", "other.com", []string{"www.example.com"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := s.CreateSite(ctx, &orchard.Site{Host: tc.host, Aliases: tc.aliases})
				wantCode(t, "CreateSite", err, orchard.ECONFLICT)
			})
		}
		sites, err := s.Sites(ctx)
		wantOK(t, "Sites", err)
		wantKeys(t, "Sites after conflicts", keys(sites, func(x *orchard.Site) string { return x.Host }), []string{"example.com"})
		if _, err := s.Site(ctx, "other.com"); orchard.ErrorCode(err) != orchard.ENOTFOUND {
			t.Errorf("a refused CreateSite left other.com behind: %v", err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		s := mustOpen(t, open)
		ctx := t.Context()
		wantInvalid(t, "CreateSite", func(site *orchard.Site) error { return s.CreateSite(ctx, site) }, []invalid[orchard.Site]{
			{"DotDot", orchard.Site{Host: "../etc"}},
			{"Slash", orchard.Site{Host: "a/b"}},
			{"Empty", orchard.Site{Host: ""}},
			{"Space", orchard.Site{Host: "a b.com"}},
			{"Quote", orchard.Site{Host: "a'b.com"}},
			{"NUL", orchard.Site{Host: "a\x00b.com"}},
			{"LongLabel", orchard.Site{Host: strings.Repeat("a", 64) + ".com"}},
			{"TooLong", orchard.Site{Host: strings.Repeat("abcdefg.", 32) + "com"}},
			{"BadAlias", orchard.Site{Host: "ok.com", Aliases: []string{"bad alias"}}},
			{"AliasTwice", orchard.Site{Host: "ok.com", Aliases: []string{"a.com", "A.com"}}},
			{"Scheme", orchard.Site{Host: "ok.com", Scheme: "ftp"}},
			{"FeedSize", orchard.Site{Host: "ok.com", FeedSize: -1}},
			{"CacheControl", orchard.Site{Host: "ok.com", CacheControl: "x\r\ny"}},
		})
		sites, err := s.Sites(ctx)
		wantNone(t, "Sites after refused creates", sites, err)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s := mustOpen(t, open)
		ctx := t.Context()
		mustCreateSite(t, s, "example.com", "www.example.com")
		for _, h := range []string{"missing.com", "www.example.com", "../etc", "", "a\x00b"} {
			_, err := s.Site(ctx, h)
			wantCode(t, "Site("+h+")", err, orchard.ENOTFOUND)
			wantCode(t, "DropSite("+h+")", s.DropSite(ctx, h), orchard.ENOTFOUND)
			_, err = s.LookupHost(ctx, h+"x")
			wantCode(t, "LookupHost", err, orchard.ENOTFOUND)
		}
		wantCode(t, "UpdateSite", s.UpdateSite(ctx, &orchard.Site{Host: "missing.com"}), orchard.ENOTFOUND)
	})
	t.Run("LookupHost", func(t *testing.T) {
		s := mustOpen(t, open)
		ctx := t.Context()
		mustCreateSite(t, s, "example.com", "www.example.com")
		mustCreateSite(t, s, "other.com")
		for _, h := range []string{"example.com", "www.example.com", "WWW.Example.com.", "www.example.com:8080"} {
			got, err := s.LookupHost(ctx, h)
			wantOK(t, "LookupHost("+h+")", err)
			if got.Host != "example.com" {
				t.Errorf("LookupHost(%q) = %q, want example.com", h, got.Host)
			}
		}
	})
	t.Run("Sites", func(t *testing.T) {
		s := mustOpen(t, open)
		ctx := t.Context()
		sites, err := s.Sites(ctx)
		wantNone(t, "Sites of an empty store", sites, err)
		for _, h := range []string{"zeta.com", "alpha.com", "alpha-beta.com", "mid.org"} {
			mustCreateSite(t, s, h, "www."+h)
		}
		sites, err = s.Sites(ctx)
		wantOK(t, "Sites", err)
		wantKeys(t, "Sites", keys(sites, func(x *orchard.Site) string { return x.Host }),
			[]string{"alpha-beta.com", "alpha.com", "mid.org", "zeta.com"})
		for _, x := range sites {
			wantKeys(t, "aliases of "+x.Host, x.Aliases, []string{"www." + x.Host})
		}
	})
	t.Run("Update", func(t *testing.T) {
		s := mustOpen(t, open)
		ctx := t.Context()
		orig := mustCreateSite(t, s, "example.com", "www.example.com", "old.example.com")
		mustCreateSite(t, s, "other.com")
		up := &orchard.Site{Host: "example.com", Aliases: []string{"new.example.com", "www.example.com"},
			Title: "New title", Description: "New", Scheme: "https", FeedSize: 3, Updated: at(5)}
		wantOK(t, "UpdateSite", s.UpdateSite(ctx, up))
		got, err := s.Site(ctx, "example.com")
		wantOK(t, "Site", err)
		want := *up
		want.Prefix, want.Created, want.CacheControl = orig.Prefix, orig.Created, orchard.DefaultCacheControl
		same(t, "updated site", got, &want)
		if _, err := s.LookupHost(ctx, "old.example.com"); orchard.ErrorCode(err) != orchard.ENOTFOUND {
			t.Errorf("removed alias still resolves: %v", err)
		}
		// The freed alias can go to another site.
		other, err := s.Site(ctx, "other.com")
		wantOK(t, "Site(other)", err)
		other.Aliases = []string{"old.example.com"}
		wantOK(t, "UpdateSite(other claims freed alias)", s.UpdateSite(ctx, other))

		t.Run("ErrConflict", func(t *testing.T) {
			other.Aliases = []string{"www.example.com"}
			wantCode(t, "UpdateSite", s.UpdateSite(ctx, other), orchard.ECONFLICT)
			other.Aliases = []string{"example.com"}
			wantCode(t, "UpdateSite", s.UpdateSite(ctx, other), orchard.ECONFLICT)
			got, err := s.Site(ctx, "other.com")
			wantOK(t, "Site", err)
			wantKeys(t, "aliases after refused update", got.Aliases, []string{"old.example.com"})
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			bad := *got
			bad.Scheme = "gopher"
			wantCode(t, "UpdateSite", s.UpdateSite(ctx, &bad), orchard.EINVALID)
		})
	})
	t.Run("Drop", func(t *testing.T) {
		s := mustOpen(t, open)
		ctx := t.Context()
		mustCreateSite(t, s, "example.com", "www.example.com")
		mustCreateSite(t, s, "keep.com")
		mustPutCategory(t, s, "example.com", "/news/")
		mustPutPage(t, s, "example.com", &orchard.Page{Path: "/news/a/", Category: "/news/", Title: "A"})
		wantOK(t, "PutUser", s.PutUser(ctx, &orchard.User{Site: "example.com", Name: "admin", PasswordHash: "h"}))
		wantOK(t, "PutUser(cluster)", s.PutUser(ctx, &orchard.User{Name: "root", PasswordHash: "h"}))

		wantOK(t, "DropSite", s.DropSite(ctx, "EXAMPLE.com"))
		_, err := s.Site(ctx, "example.com")
		wantCode(t, "Site after drop", err, orchard.ENOTFOUND)
		_, err = s.LookupHost(ctx, "www.example.com")
		wantCode(t, "LookupHost(alias) after drop", err, orchard.ENOTFOUND)
		_, err = s.Pages(ctx, "example.com", orchard.PageFilter{})
		wantCode(t, "Pages after drop", err, orchard.ENOTFOUND)
		_, err = s.Users(ctx, "example.com")
		wantCode(t, "Users after drop", err, orchard.ENOTFOUND)
		if _, err := s.User(ctx, "", "root"); err != nil {
			t.Errorf("cluster admin lost with the site: %v", err)
		}
		if _, err := s.Site(ctx, "keep.com"); err != nil {
			t.Errorf("other site lost: %v", err)
		}

		// Created again, the site is empty and its alias is free again.
		mustCreateSite(t, s, "example.com", "www.example.com")
		pages, err := s.Pages(ctx, "example.com", orchard.PageFilter{})
		wantOK(t, "Pages after re-create", err)
		cats, err := s.Categories(ctx, "example.com")
		wantOK(t, "Categories after re-create", err)
		users, err := s.Users(ctx, "example.com")
		wantOK(t, "Users after re-create", err)
		if len(pages)+len(cats)+len(users) != 0 {
			t.Errorf("re-created site is not empty: %d pages, %d categories, %d users", len(pages), len(cats), len(users))
		}
	})
	t.Run("Times", func(t *testing.T) {
		s := mustOpen(t, open)
		ctx := t.Context()
		est := time.FixedZone("EST", -5*3600)
		in := &orchard.Site{Host: "example.com", Created: at(1).In(est), Updated: at(2).In(est)}
		wantOK(t, "CreateSite", s.CreateSite(ctx, in))
		got, err := s.Site(ctx, "example.com")
		wantOK(t, "Site", err)
		if !got.Created.Equal(at(1)) || !got.Updated.Equal(at(2)) {
			t.Errorf("times: got %v, %v, want %v, %v", got.Created, got.Updated, at(1), at(2))
		}
		wantUTC(t, "Created", got.Created)
		wantUTC(t, "Updated", got.Updated)
	})
}

// testPrefix checks that different hosts never share content, including
// hosts a naive prefix rule merges and hosts too long for a readable prefix.
func testPrefix(t *testing.T, open Opener) {
	long := func(last string) string {
		h := strings.Repeat(strings.Repeat("x", 63)+".", 3) + strings.Repeat("y", 61-len(last)) + last
		if len(h) != orchard.MaxHostLen {
			t.Fatalf("test host is %d bytes, want %d", len(h), orchard.MaxHostLen)
		}
		return h
	}
	for _, tc := range []struct {
		name string
		a, b string
	}{
		{"DashDot", "a-b.test", "a.b-test"},
		{"DashOrDot", "a-b.example", "a.b.example"},
		{"DoubleDash", "a--b.test", "a.b.test"},
		{"Punycode", "xn--bcher-kva.example", "xn-bcher-kva.example"},
		{"Long", long("a"), long("b")},
		{"LongSharedStart", strings.Repeat("q", 30) + ".one.example.com", strings.Repeat("q", 30) + ".two.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustOpen(t, open)
			ctx := t.Context()
			sa := mustCreateSite(t, s, tc.a)
			sb := mustCreateSite(t, s, tc.b)
			if sa.Prefix == sb.Prefix {
				t.Errorf("%q and %q share the prefix %q", tc.a, tc.b, sa.Prefix)
			}
			for _, p := range []string{sa.Prefix, sb.Prefix} {
				if len(p)+len("_categories") > 64 {
					t.Errorf("prefix %q makes table names longer than 64 bytes", p)
				}
			}
			mustPutPage(t, s, tc.a, &orchard.Page{Path: "/only-a/", Title: "A"})
			mustPutPage(t, s, tc.b, &orchard.Page{Path: "/only-b/", Title: "B"})
			for _, x := range []struct{ host, want string }{{tc.a, "/only-a/"}, {tc.b, "/only-b/"}} {
				pages, err := s.Pages(ctx, x.host, orchard.PageFilter{})
				wantOK(t, "Pages", err)
				wantKeys(t, "pages of "+x.host, keys(pages, func(p *orchard.Page) string { return p.Path }), []string{x.want})
			}
			wantOK(t, "DropSite", s.DropSite(ctx, tc.a))
			if _, err := s.Page(ctx, tc.b, "/only-b/"); err != nil {
				t.Errorf("dropping %q lost a page of %q: %v", tc.a, tc.b, err)
			}
		})
	}
}
