package wordpress_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/wordpress"
)

// mustConvert parses testdata/export.xml and converts it, with uploads
// from testdata/uploads when withUploads.
func mustConvert(t *testing.T, withUploads bool) (*orchard.SiteContent, *wordpress.Report) {
	t.Helper()
	f, err := os.Open("testdata/export.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ex, err := wordpress.Parse(t.Context(), f, 0)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	opt := wordpress.Options{Host: "hill.example.com"}
	if withUploads {
		opt.Uploads = os.DirFS("testdata/uploads")
	}
	c, rep, err := wordpress.Convert(ex, opt)
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	return c, rep
}

func page(t *testing.T, c *orchard.SiteContent, path string) orchard.Page {
	t.Helper()
	for _, p := range c.Pages {
		if p.Path == path {
			return p
		}
	}
	var have []string
	for _, p := range c.Pages {
		have = append(have, p.Path)
	}
	t.Fatalf("no page %s (have %v)", path, have)
	return orchard.Page{}
}

func TestConvert(t *testing.T) {
	c, rep := mustConvert(t, true)
	post := page(t, c, "/news/harvest/harvest-starts/")

	t.Run("Site", func(t *testing.T) {
		if c.Site.Host != "hill.example.com" || c.Site.Title != "Hill Orchard" || c.Site.Description != "Apples & pears" {
			t.Errorf("site %+v", c.Site)
		}
	})
	t.Run("NestedCategories", func(t *testing.T) {
		var got []string
		for _, cat := range c.Categories {
			got = append(got, cat.Path+"="+cat.Title)
		}
		want := []string{"/news/=News", "/news/harvest/=Harvest", "/recipes/=Recipes"}
		if !slices.Equal(got, want) {
			t.Errorf("categories %v, want %v", got, want)
		}
	})
	t.Run("PostInFirstCategory", func(t *testing.T) {
		if post.Category != "/news/harvest/" || post.Layout != orchard.LayoutPost || post.Format != orchard.FormatHTML || !post.Published {
			t.Errorf("post %+v", post)
		}
	})
	t.Run("Dates", func(t *testing.T) {
		if want := time.Date(2024, 3, 4, 9, 0, 0, 0, time.UTC); !post.Created.Equal(want) {
			t.Errorf("created %v, want the GMT date %v", post.Created, want)
		}
		if want := time.Date(2024, 3, 5, 8, 30, 0, 0, time.UTC); !post.Updated.Equal(want) {
			t.Errorf("updated %v, want %v", post.Updated, want)
		}
		draft := page(t, c, "/recipes/cider-plans/")
		if want := time.Date(2024, 3, 6, 12, 0, 0, 0, time.UTC); !draft.Created.Equal(want) {
			t.Errorf("a draft without a GMT date: created %v, want its site-time date %v", draft.Created, want)
		}
	})
	t.Run("DraftKeptUnpublished", func(t *testing.T) {
		draft := page(t, c, "/recipes/cider-plans/") // no slug: made from the title
		if draft.Published || rep.Drafts != 1 {
			t.Errorf("draft published=%v, %d drafts reported", draft.Published, rep.Drafts)
		}
	})
	t.Run("NestedPages", func(t *testing.T) {
		team := page(t, c, "/about/team/")
		if team.Category != "" || team.Layout != orchard.LayoutPage {
			t.Errorf("page %+v", team)
		}
		if got := page(t, c, "/about/").Body; !strings.Contains(got, "<p>A family orchard since 1952.</p>") || strings.Contains(got, "<p><!--") {
			t.Errorf("block-editor content changed: %q", got)
		}
	})
	t.Run("Skipped", func(t *testing.T) {
		got := strings.Join(rep.Skipped, "\n")
		for _, want := range []string{`post "Old rubbish" (40): trash`, `nav_menu_item "Home" (50): not a post or page`} {
			if !strings.Contains(got, want) {
				t.Errorf("skipped:\n%s\nwant %q", got, want)
			}
		}
		if len(c.Pages) != 4 || rep.Posts != 2 || rep.Pages != 2 {
			t.Errorf("%d pages (%d posts, %d pages), want 4 (2, 2)", len(c.Pages), rep.Posts, rep.Pages)
		}
	})
	t.Run("AuthorsReported", func(t *testing.T) {
		if rep.Authors["Ann Appleby"] != 3 || rep.Authors["Bob Pear"] != 1 {
			t.Errorf("authors %v", rep.Authors)
		}
	})
	t.Run("TagsAndOtherCategoriesReported", func(t *testing.T) {
		want := []string{"category:recipes", "tag:apples"}
		if got := rep.Tags[post.Path]; !slices.Equal(got, want) {
			t.Errorf("tags of %s: %v, want %v", post.Path, got, want)
		}
	})
	t.Run("ExcerptIsDescription", func(t *testing.T) {
		if post.Description != "The first apples are in." {
			t.Errorf("description %q", post.Description)
		}
	})
	t.Run("Paragraphs", func(t *testing.T) {
		if !strings.HasPrefix(post.Body, "<p>The first apples are in.<br />\nCome and pick.</p>") || !strings.Contains(post.Body, "\n\n<h2>Picking times</h2>") {
			t.Errorf("body:\n%s", post.Body)
		}
	})
	t.Run("Caption", func(t *testing.T) {
		want := `<figure class="wp-caption alignright" id="attachment_20" style="width: 300px"><a href="/uploads/2024/03/apple.gif"><img src="/uploads/2024/03/apple.gif" alt="An apple" width="300" height="200" /></a><figcaption>A Discovery apple</figcaption></figure>`
		if !strings.Contains(post.Body, want) || rep.Captions != 1 {
			t.Errorf("body:\n%s\nwant:\n%s", post.Body, want)
		}
	})
	t.Run("OtherShortcodesReported", func(t *testing.T) {
		if rep.Shortcodes["gallery"] != 1 || !slices.Equal(rep.ShortcodePages, []string{post.Path}) || !strings.Contains(post.Body, `[gallery ids="20,21"]`) {
			t.Errorf("shortcodes %v on %v", rep.Shortcodes, rep.ShortcodePages)
		}
	})
	t.Run("InternalLinks", func(t *testing.T) {
		for _, want := range []string{`href="/about/"`, `href="/about/#shop"`, `href="/news/harvest/"`, `href="https://hill.example.org/feed/"`} {
			if !strings.Contains(post.Body, want) {
				t.Errorf("body has no %s:\n%s", want, post.Body)
			}
		}
		if !slices.Equal(rep.Unmapped, []string{"https://hill.example.org/feed/"}) {
			t.Errorf("unmapped %v", rep.Unmapped)
		}
		if rep.Moved["/2024/03/harvest-starts/"] != post.Path || rep.Moved["/category/news/harvest/"] != "/news/harvest/" {
			t.Errorf("moved %v", rep.Moved)
		}
	})
	t.Run("Attachments", func(t *testing.T) {
		if len(c.Assets) != 1 || c.Assets[0].Path != "/uploads/2024/03/apple.gif" || c.Assets[0].ContentType != "image/gif" {
			t.Errorf("assets %+v", c.Assets)
		}
		if !slices.Equal(rep.Missing, []string{"https://hill.example.org/wp-content/uploads/2024/03/pear.jpg"}) {
			t.Errorf("missing %v", rep.Missing)
		}
	})
	t.Run("AttachmentsMissingWithoutUploads", func(t *testing.T) {
		c, rep := mustConvert(t, false)
		if len(c.Assets) != 0 || len(rep.Missing) != 2 {
			t.Errorf("without uploads: %d assets, missing %v", len(c.Assets), rep.Missing)
		}
		if p := page(t, c, post.Path); !strings.Contains(p.Body, `src="https://hill.example.org/wp-content/uploads/2024/03/apple.gif"`) {
			t.Errorf("a missing upload's link changed:\n%s", p.Body)
		}
	})
}

func TestParseRefuses(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"DTD", `<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "y">]><rss><channel></channel></rss>`, "not allowed"},
		{"NotRSS", `<html></html>`, "root element is <html>"},
		{"Empty", ``, "no <rss> element"},
		{"Truncated", `<rss><channel><item><title>x</title>`, "line 1"},
		{"Latin1", `<?xml version="1.0" encoding="ISO-8859-1"?><rss/>`, "ISO-8859-1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wordpress.Parse(context.Background(), strings.NewReader(tt.in), 0)
			if orchard.ErrorCode(err) != orchard.EINVALID || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse = %v, want EINVALID with %q", err, tt.want)
			}
		})
	}
	t.Run("TooLarge", func(t *testing.T) {
		data, _ := os.ReadFile("testdata/export.xml")
		_, err := wordpress.Parse(context.Background(), bytes.NewReader(data), 1000)
		if orchard.ErrorCode(err) != orchard.EINVALID || !strings.Contains(err.Error(), "larger than the limit") {
			t.Errorf("Parse of a file over the limit = %v", err)
		}
	})
}

// FuzzParse: Parse never panics, and what it accepts converts without
// panicking into content that validates or a clear error.
func FuzzParse(f *testing.F) {
	data, err := os.ReadFile("testdata/export.xml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`<rss><channel><item><wp:post_type xmlns:wp="http://wordpress.org/export/1.2/">post</wp:post_type></item></channel></rss>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ex, err := wordpress.Parse(context.Background(), bytes.NewReader(data), 1<<20)
		if err != nil {
			return
		}
		if _, _, err := wordpress.Convert(ex, wordpress.Options{Host: "fuzz.example"}); err != nil && orchard.ErrorCode(err) != orchard.EINVALID {
			t.Errorf("Convert: %v", err)
		}
	})
}
