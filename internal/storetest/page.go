package storetest

import (
	"testing"

	orchard "github.com/orchardhq/orchard"
)

func testPage(t *testing.T, open Opener) {
	const host = "example.com"
	t.Run("OK", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		mustPutCategory(t, s, host, "/news/")
		p := &orchard.Page{Path: "/news/hello/", Title: "Hello", Category: "/news/", Layout: "wide",
			Format: orchard.FormatHTML, Body: "<p>Hi</p>", Description: "Greeting", Published: true,
			Created: at(1), Updated: at(2)}
		want := *p
		mustPutPage(t, s, host, p)
		same(t, "PutPage changed a complete page", p, &want)
		got, err := s.Page(ctx, host, "/news/hello/")
		wantOK(t, "Page", err)
		same(t, "Page", got, &want)
	})
	t.Run("Defaults", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		mustPutCategory(t, s, host, "/news/")
		post := &orchard.Page{Path: "/news/x/", Title: "X", Category: "/news/"}
		mustPutPage(t, s, host, post)
		page := &orchard.Page{Path: "/about/", Title: "About"}
		mustPutPage(t, s, host, page)
		for _, tc := range []struct {
			path, layout string
		}{{"/news/x/", orchard.LayoutPost}, {"/about/", orchard.LayoutPage}} {
			got, err := s.Page(ctx, host, tc.path)
			wantOK(t, "Page", err)
			if got.Layout != tc.layout || got.Format != orchard.FormatMarkdown || got.Published {
				t.Errorf("%s: layout %q format %q published %v, want %q markdown false", tc.path, got.Layout, got.Format, got.Published, tc.layout)
			}
			wantUTC(t, tc.path+" Created", got.Created)
			wantUTC(t, tc.path+" Updated", got.Updated)
		}
	})
	t.Run("Replace", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		mustPutCategory(t, s, host, "/a/")
		mustPutPage(t, s, host, &orchard.Page{Path: "/x/", Title: "One", Body: "one", Created: at(1), Updated: at(1)})
		up := &orchard.Page{Path: "/x/", Title: "Two", Body: "two", Published: true, Updated: at(6)}
		mustPutPage(t, s, host, up)
		if !up.Created.Equal(at(1)) {
			t.Errorf("PutPage with a zero Created left Created %v, want the original %v", up.Created, at(1))
		}
		got, err := s.Page(ctx, host, "/x/")
		wantOK(t, "Page", err)
		same(t, "replaced page", got, &orchard.Page{Path: "/x/", Title: "Two", Layout: orchard.LayoutPage,
			Format: orchard.FormatMarkdown, Body: "two", Published: true, Created: at(1), Updated: at(6)})
		// A zero Updated becomes the time of the write.
		up2 := &orchard.Page{Path: "/x/", Title: "Three"}
		mustPutPage(t, s, host, up2)
		got, err = s.Page(ctx, host, "/x/")
		wantOK(t, "Page", err)
		if !got.Created.Equal(at(1)) || !got.Updated.After(at(6)) {
			t.Errorf("after a second replace: Created %v Updated %v, want %v and now", got.Created, got.Updated, at(1))
		}
		// A non-zero Created sets the page's date.
		mustPutPage(t, s, host, &orchard.Page{Path: "/x/", Title: "Four", Created: at(3)})
		got, err = s.Page(ctx, host, "/x/")
		wantOK(t, "Page", err)
		if !got.Created.Equal(at(3)) {
			t.Errorf("after a replace with Created %v: Created %v", at(3), got.Created)
		}
		pages, err := s.Pages(ctx, host, orchard.PageFilter{})
		wantOK(t, "Pages", err)
		if len(pages) != 1 {
			t.Errorf("replacing made %d pages", len(pages))
		}
	})
	t.Run("Filter", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		mustPutCategory(t, s, host, "/news/")
		mustPutCategory(t, s, host, "/news/tech/")
		mustPutCategory(t, s, host, "/blog/")
		for _, p := range []orchard.Page{
			{Path: "/news/b/", Category: "/news/", Title: "b", Published: true},
			{Path: "/news/a/", Category: "/news/", Title: "a"},
			{Path: "/news/c/", Category: "/news/", Title: "c", Published: true},
			{Path: "/news/tech/d/", Category: "/news/tech/", Title: "d", Published: true},
			{Path: "/blog/e/", Category: "/blog/", Title: "e", Published: true},
			{Path: "/", Title: "home", Published: true},
			{Path: "/about/", Title: "about"},
		} {
			mustPutPage(t, s, host, &p)
		}
		for _, tc := range []struct {
			name   string
			filter orchard.PageFilter
			want   []string
		}{
			{"All", orchard.PageFilter{}, []string{"/", "/about/", "/blog/e/", "/news/a/", "/news/b/", "/news/c/", "/news/tech/d/"}},
			{"Category", orchard.PageFilter{Category: "/news/"}, []string{"/news/a/", "/news/b/", "/news/c/"}},
			{"Published", orchard.PageFilter{PublishedOnly: true}, []string{"/", "/blog/e/", "/news/b/", "/news/c/", "/news/tech/d/"}},
			{"CategoryPublished", orchard.PageFilter{Category: "/news/", PublishedOnly: true}, []string{"/news/b/", "/news/c/"}},
			{"EmptyCategory", orchard.PageFilter{Category: "/nothing/"}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				pages, err := s.Pages(ctx, host, tc.filter)
				wantOK(t, "Pages", err)
				wantKeys(t, "Pages", keys(pages, func(p *orchard.Page) string { return p.Path }), tc.want)
			})
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		err := s.PutPage(ctx, host, &orchard.Page{Path: "/news/x/", Category: "/news/", Title: "X"})
		wantCode(t, "PutPage in a missing category", err, orchard.ENOTFOUND)
		err = s.PutPage(ctx, "missing.com", &orchard.Page{Path: "/x/", Title: "X"})
		wantCode(t, "PutPage on a missing site", err, orchard.ENOTFOUND)
		for _, p := range []string{"/x/", "/news/x/", "/", "/../etc/", "x", ""} {
			_, err = s.Page(ctx, host, p)
			wantCode(t, "Page("+p+")", err, orchard.ENOTFOUND)
			wantCode(t, "DeletePage("+p+")", s.DeletePage(ctx, host, p), orchard.ENOTFOUND)
		}
		_, err = s.Page(ctx, "missing.com", "/")
		wantCode(t, "Page on a missing site", err, orchard.ENOTFOUND)
		_, err = s.Pages(ctx, "missing.com", orchard.PageFilter{})
		wantCode(t, "Pages on a missing site", err, orchard.ENOTFOUND)
		_, err = s.Pages(ctx, "../etc", orchard.PageFilter{})
		wantCode(t, "Pages on an invalid host", err, orchard.ENOTFOUND)
		pages, err := s.Pages(ctx, host, orchard.PageFilter{})
		wantNone(t, "Pages after refused puts", pages, err)
	})
	t.Run("ErrConflict", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		mustPutCategory(t, s, host, "/news/")
		err := s.PutPage(ctx, host, &orchard.Page{Path: "/news/", Title: "News page"})
		wantCode(t, "PutPage at a category's path", err, orchard.ECONFLICT)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		mustPutCategory(t, s, host, "/news/")
		wantInvalid(t, "PutPage", func(p *orchard.Page) error { return s.PutPage(ctx, host, p) }, []invalid[orchard.Page]{
			{"NoTrailingSlash", orchard.Page{Path: "/x", Title: "X"}},
			{"Relative", orchard.Page{Path: "x/", Title: "X"}},
			{"DotDot", orchard.Page{Path: "/../x/", Title: "X"}},
			{"Upper", orchard.Page{Path: "/X/", Title: "X"}},
			{"NUL", orchard.Page{Path: "/x\x00/", Title: "X"}},
			{"NoTitle", orchard.Page{Path: "/x/", Title: ""}},
			{"OutsideCategory", orchard.Page{Path: "/blog/x/", Category: "/news/", Title: "X"}},
			{"DeepInCategory", orchard.Page{Path: "/news/a/b/", Category: "/news/", Title: "X"}},
			{"Format", orchard.Page{Path: "/x/", Title: "X", Format: "rst"}},
			{"Layout", orchard.Page{Path: "/x/", Title: "X", Layout: "../etc"}},
			{"Body", orchard.Page{Path: "/x/", Title: "X", Body: string(make([]byte, orchard.MaxBodyLen+1))}},
		})
		pages, err := s.Pages(ctx, host, orchard.PageFilter{})
		wantNone(t, "Pages after refused puts", pages, err)
	})
	t.Run("Delete", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		mustPutPage(t, s, host, &orchard.Page{Path: "/a/", Title: "A"})
		mustPutPage(t, s, host, &orchard.Page{Path: "/b/", Title: "B"})
		wantOK(t, "DeletePage", s.DeletePage(ctx, host, "/a/"))
		_, err := s.Page(ctx, host, "/a/")
		wantCode(t, "Page after delete", err, orchard.ENOTFOUND)
		wantCode(t, "DeletePage twice", s.DeletePage(ctx, host, "/a/"), orchard.ENOTFOUND)
		if _, err := s.Page(ctx, host, "/b/"); err != nil {
			t.Errorf("other page lost: %v", err)
		}
	})
}
