package storetest

import (
	"testing"

	orchard "github.com/orchardhq/orchard"
)

func testCategory(t *testing.T, open Opener) {
	const host = "example.com"
	t.Run("OK", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		news := &orchard.Category{Path: "/news/", Title: "News", Description: "What is new.", Sort: 2, Created: at(1), Updated: at(2)}
		wantOK(t, "PutCategory", s.PutCategory(ctx, host, news))
		got, err := s.Category(ctx, host, "/news/")
		wantOK(t, "Category", err)
		same(t, "Category", got, news)

		tech := mustPutCategory(t, s, host, "/news/tech/")
		wantUTC(t, "Created", tech.Created)
		wantUTC(t, "Updated", tech.Updated)
		mustPutCategory(t, s, host, "/about-us/")
		mustPutCategory(t, s, host, "/news/art/")
		cats, err := s.Categories(ctx, host)
		wantOK(t, "Categories", err)
		wantKeys(t, "Categories", keys(cats, func(c *orchard.Category) string { return c.Path }),
			[]string{"/about-us/", "/news/", "/news/art/", "/news/tech/"})
		if got := cats[1].Parent(); got != "" {
			t.Errorf("Parent of /news/ = %q", got)
		}
	})
	t.Run("Replace", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		wantOK(t, "PutCategory", s.PutCategory(ctx, host, &orchard.Category{Path: "/news/", Title: "News", Created: at(1), Updated: at(1)}))
		mustPutCategory(t, s, host, "/news/tech/")
		mustPutPage(t, s, host, &orchard.Page{Path: "/news/a/", Category: "/news/", Title: "A"})
		up := &orchard.Category{Path: "/news/", Title: "All the news", Sort: 9, Created: at(7), Updated: at(8)}
		wantOK(t, "PutCategory(replace)", s.PutCategory(ctx, host, up))
		if !up.Created.Equal(at(1)) {
			t.Errorf("PutCategory set Created %v, want the original %v", up.Created, at(1))
		}
		got, err := s.Category(ctx, host, "/news/")
		wantOK(t, "Category", err)
		same(t, "replaced category", got, &orchard.Category{Path: "/news/", Title: "All the news", Sort: 9, Created: at(1), Updated: at(8)})
		// Replacing a parent keeps its children and pages.
		if _, err := s.Category(ctx, host, "/news/tech/"); err != nil {
			t.Errorf("child lost when its parent was replaced: %v", err)
		}
		if _, err := s.Page(ctx, host, "/news/a/"); err != nil {
			t.Errorf("page lost when its category was replaced: %v", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		err := s.PutCategory(ctx, host, &orchard.Category{Path: "/news/tech/", Title: "Tech"})
		wantCode(t, "PutCategory without parent", err, orchard.ENOTFOUND)
		err = s.PutCategory(ctx, "missing.com", &orchard.Category{Path: "/news/", Title: "News"})
		wantCode(t, "PutCategory on missing site", err, orchard.ENOTFOUND)
		for _, p := range []string{"/news/", "/news/tech/", "/../", "news", ""} {
			_, err = s.Category(ctx, host, p)
			wantCode(t, "Category("+p+")", err, orchard.ENOTFOUND)
			wantCode(t, "DeleteCategory("+p+")", s.DeleteCategory(ctx, host, p), orchard.ENOTFOUND)
		}
		_, err = s.Category(ctx, "missing.com", "/news/")
		wantCode(t, "Category on missing site", err, orchard.ENOTFOUND)
		_, err = s.Categories(ctx, "missing.com")
		wantCode(t, "Categories on missing site", err, orchard.ENOTFOUND)
		cats, err := s.Categories(ctx, host)
		wantNone(t, "Categories after a refused put", cats, err)
	})
	t.Run("ErrConflict", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		mustPutCategory(t, s, host, "/news/")
		mustPutCategory(t, s, host, "/news/tech/")
		mustPutCategory(t, s, host, "/blog/")
		mustPutPage(t, s, host, &orchard.Page{Path: "/blog/first/", Category: "/blog/", Title: "First"})
		mustPutPage(t, s, host, &orchard.Page{Path: "/about/", Title: "About"})
		wantCode(t, "DeleteCategory with a child", s.DeleteCategory(ctx, host, "/news/"), orchard.ECONFLICT)
		wantCode(t, "DeleteCategory with a page", s.DeleteCategory(ctx, host, "/blog/"), orchard.ECONFLICT)
		wantCode(t, "PutCategory at a page's path", s.PutCategory(ctx, host, &orchard.Category{Path: "/about/", Title: "About"}), orchard.ECONFLICT)
		for _, p := range []string{"/news/", "/blog/", "/news/tech/"} {
			if _, err := s.Category(ctx, host, p); err != nil {
				t.Errorf("refused delete lost %s: %v", p, err)
			}
		}
		// Emptied, they go: child first, then parent.
		wantOK(t, "DeleteCategory(child)", s.DeleteCategory(ctx, host, "/news/tech/"))
		wantOK(t, "DeleteCategory(parent)", s.DeleteCategory(ctx, host, "/news/"))
		wantOK(t, "DeletePage", s.DeletePage(ctx, host, "/blog/first/"))
		wantOK(t, "DeleteCategory(emptied)", s.DeleteCategory(ctx, host, "/blog/"))
		cats, err := s.Categories(ctx, host)
		wantNone(t, "Categories left", cats, err)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		wantInvalid(t, "PutCategory", func(c *orchard.Category) error { return s.PutCategory(ctx, host, c) }, []invalid[orchard.Category]{
			{"Root", orchard.Category{Path: "/", Title: "Root"}},
			{"NoSlash", orchard.Category{Path: "news", Title: "News"}},
			{"NoTrailingSlash", orchard.Category{Path: "/news", Title: "News"}},
			{"Upper", orchard.Category{Path: "/News/", Title: "News"}},
			{"DotDot", orchard.Category{Path: "/a/../", Title: "X"}},
			{"Quote", orchard.Category{Path: "/a'b/", Title: "X"}},
			{"NoTitle", orchard.Category{Path: "/news/", Title: "  "}},
		})
		cats, err := s.Categories(ctx, host)
		wantNone(t, "Categories after refused puts", cats, err)
	})
}
