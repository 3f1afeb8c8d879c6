package storetest

import (
	"context"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
)

// indexOf is what LoadSiteIndex must return for content whose LoadSite is
// full: the same but for page bodies left out and digests set.
func indexOf(full *orchard.SiteContent) *orchard.SiteContent {
	out := *full
	out.Pages = append([]orchard.Page(nil), full.Pages...)
	for i := range out.Pages {
		out.Pages[i].Digest = out.Pages[i].ContentDigest()
		out.Pages[i].Body = ""
	}
	return &out
}

// wantIndex checks LoadSiteIndex and PageBodies against LoadSite: the index
// is LoadSite without bodies, every digest is the ContentDigest of the page
// as LoadSite reads it, and PageBodies gives back each body with the same
// digest.
func wantIndex(t *testing.T, s orchard.Store, host string) {
	t.Helper()
	ctx := t.Context()
	full, err := s.LoadSite(ctx, host)
	wantOK(t, "LoadSite", err)
	idx, err := s.LoadSiteIndex(ctx, host)
	wantOK(t, "LoadSiteIndex", err)
	same(t, "LoadSiteIndex", idx, indexOf(full))
	paths := make([]string, 0, len(full.Pages)+1)
	for _, p := range full.Pages {
		paths = append(paths, p.Path)
	}
	bodies, err := s.PageBodies(ctx, host, append(paths, "/missing/"))
	wantOK(t, "PageBodies", err)
	if len(bodies) != len(full.Pages) {
		t.Errorf("PageBodies returned %d pages, want %d (a missing page is left out)", len(bodies), len(full.Pages))
	}
	for _, p := range full.Pages {
		b, ok := bodies[p.Path]
		if !ok {
			t.Errorf("PageBodies: %s is missing", p.Path)
			continue
		}
		if b.Body != p.Body || b.Digest != p.ContentDigest() {
			t.Errorf("PageBodies[%s] = %.40q %s, want %.40q %s", p.Path, b.Body, b.Digest, p.Body, p.ContentDigest())
		}
	}
}

func testIndex(t *testing.T, open Opener) {
	t.Run("ReplaceSite", func(t *testing.T) {
		s := mustOpen(t, open)
		wantOK(t, "ReplaceSite", s.ReplaceSite(t.Context(), sampleContent("example.com"), false))
		wantIndex(t, s, "example.com")
	})
	t.Run("EveryWrite", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, "example.com")
		mustPutCategory(t, s, "example.com", "/news/")
		// Nanoseconds the store drops, defaults Validate fills, a big body.
		p := &orchard.Page{Path: "/news/a/", Category: "/news/", Title: "A", Body: "one",
			Published: true, Created: at(1).Add(123), Updated: at(2).Add(999)}
		mustPutPage(t, s, "example.com", p)
		if p.Digest != "" {
			t.Errorf("PutPage set the caller's Digest to %q", p.Digest)
		}
		wantIndex(t, s, "example.com")
		before, err := s.LoadSiteIndex(ctx, "example.com")
		wantOK(t, "LoadSiteIndex", err)

		// Replacing keeps Created: the digest must be of the kept one.
		mustPutPage(t, s, "example.com", &orchard.Page{Path: "/news/a/", Category: "/news/", Title: "A",
			Body: string(make([]byte, 5000)), Format: orchard.FormatHTML, Published: true, Created: at(7), Updated: at(8)})
		wantIndex(t, s, "example.com")
		after, err := s.LoadSiteIndex(ctx, "example.com")
		wantOK(t, "LoadSiteIndex", err)
		if before.Pages[0].Digest == after.Pages[0].Digest {
			t.Error("editing a page did not change its digest")
		}
		mustPutPage(t, s, "example.com", &orchard.Page{Path: "/b/", Title: "B", Body: "b", Created: at(3)})
		wantIndex(t, s, "example.com")
		wantOK(t, "DeletePage", s.DeletePage(ctx, "example.com", "/b/"))
		wantIndex(t, s, "example.com")

		// Only the published flag changes: so does the digest.
		q, err := s.Page(ctx, "example.com", "/news/a/")
		wantOK(t, "Page", err)
		q.Published = false
		q.Updated = time.Time{}
		mustPutPage(t, s, "example.com", q)
		wantIndex(t, s, "example.com")

		c, err := s.LoadSite(ctx, "example.com")
		wantOK(t, "LoadSite", err)
		c.Pages = append(c.Pages, orchard.Page{Path: "/c/", Title: "C", Body: "c"})
		wantOK(t, "ReplaceSite(replace)", s.ReplaceSite(ctx, c, true))
		wantIndex(t, s, "example.com")
	})
	t.Run("Missing", func(t *testing.T) {
		s := mustOpen(t, open)
		_, err := s.LoadSiteIndex(t.Context(), "nope.example")
		wantCode(t, "LoadSiteIndex(missing site)", err, orchard.ENOTFOUND)
		_, err = s.PageBodies(t.Context(), "nope.example", []string{"/"})
		wantCode(t, "PageBodies(missing site)", err, orchard.ENOTFOUND)
		mustCreateSite(t, s, "example.com")
		got, err := s.PageBodies(t.Context(), "example.com", nil)
		wantOK(t, "PageBodies(none)", err)
		if len(got) != 0 {
			t.Errorf("PageBodies(none) = %v", got)
		}
		idx, err := s.LoadSiteIndex(t.Context(), "example.com")
		wantOK(t, "LoadSiteIndex(empty)", err)
		if len(idx.Pages) != 0 {
			t.Errorf("LoadSiteIndex(empty) has %d pages", len(idx.Pages))
		}
	})
	t.Run("Many", func(t *testing.T) {
		// More paths than one query takes.
		s := mustOpen(t, open)
		c := &orchard.SiteContent{Site: orchard.Site{Host: "example.com", Title: "Many"}}
		for i := range 1200 {
			c.Pages = append(c.Pages, orchard.Page{Path: "/p" + itoa(i) + "/", Title: "P", Body: "body " + itoa(i), Published: true,
				Created: at(1), Updated: at(1)})
		}
		wantOK(t, "ReplaceSite", s.ReplaceSite(t.Context(), c, false))
		wantIndex(t, s, "example.com")
	})
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// CheckUnknownDigest checks that a page row without a digest (as a write
// by something other than PutPage could leave) still reads with the right
// one from LoadSiteIndex and PageBodies; clear empties the digest column
// of every page row behind the store's back.
func CheckUnknownDigest(t *testing.T, s orchard.Store, clear func(ctx context.Context) error) {
	t.Helper()
	ctx := t.Context()
	in := &orchard.SiteContent{Site: orchard.Site{Host: "old.test", Title: "Old"},
		Categories: []orchard.Category{{Path: "/news/", Title: "News"}},
		Pages: []orchard.Page{
			{Path: "/news/a/", Category: "/news/", Title: "A", Body: "# a", Published: true, Created: time.Unix(5, 0)},
			{Path: "/b/", Title: "B", Body: "b", Created: time.Unix(6, 7000)},
		}}
	wantOK(t, "ReplaceSite", s.ReplaceSite(ctx, in, false))
	full, err := s.LoadSite(ctx, "old.test")
	wantOK(t, "LoadSite", err)
	wantOK(t, "clearing the digests", clear(ctx))
	idx, err := s.LoadSiteIndex(ctx, "old.test")
	wantOK(t, "LoadSiteIndex", err)
	bodies, err := s.PageBodies(ctx, "old.test", []string{"/b/", "/news/a/"})
	wantOK(t, "PageBodies", err)
	for i, p := range full.Pages {
		if idx.Pages[i].Digest != p.ContentDigest() || idx.Pages[i].Body != "" {
			t.Errorf("unknown digest, index page %s: %q body %q", p.Path, idx.Pages[i].Digest, idx.Pages[i].Body)
		}
		if b := bodies[p.Path]; b.Digest != p.ContentDigest() || b.Body != p.Body {
			t.Errorf("unknown digest, PageBodies[%s] = %+v", p.Path, b)
		}
	}
}
