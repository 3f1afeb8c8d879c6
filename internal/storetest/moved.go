package storetest

import (
	"reflect"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
)

// Kept is a site as a store upgrade must keep it: its whole content and
// its version (orchard.Store.SiteVersion).
type Kept struct {
	Content orchard.SiteContent
	Version int64
}

// CheckKept checks that st holds exactly these sites, each read back
// whole through the Store API with its page digests and version, and,
// through rows (the row count of a shared content table), that nothing
// was copied twice or under another site: each of orchard_categories,
// orchard_pages, orchard_assets and orchard_templates holds as many rows
// as the sites have of them.
func CheckKept(t *testing.T, st orchard.Store, sites []Kept, rows func(table string) (int, error)) {
	t.Helper()
	ctx := t.Context()
	all, err := st.Sites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(sites) {
		t.Errorf("%d sites after the upgrade, want %d", len(all), len(sites))
	}
	for _, k := range sites {
		h := k.Content.Site.Host
		got, err := st.LoadSite(ctx, h)
		if err != nil {
			t.Fatalf("LoadSite(%s): %v", h, err)
		}
		want := k.Content
		if !reflect.DeepEqual(got.Site, want.Site) {
			t.Errorf("%s: site\n got %+v\nwant %+v", h, got.Site, want.Site)
		}
		for _, x := range []struct {
			what      string
			got, want any
		}{
			{"categories", got.Categories, want.Categories},
			{"pages", got.Pages, want.Pages},
			{"assets", got.Assets, want.Assets},
			{"templates", got.Templates, want.Templates},
			{"users", got.Users, want.Users},
		} {
			if !reflect.DeepEqual(x.got, x.want) {
				t.Errorf("%s: %s\n got %+v\nwant %+v", h, x.what, x.got, x.want)
			}
		}
		idx, err := st.LoadSiteIndex(ctx, h)
		if err != nil {
			t.Fatalf("LoadSiteIndex(%s): %v", h, err)
		}
		for i, p := range want.Pages {
			if i >= len(idx.Pages) || idx.Pages[i].Digest != p.ContentDigest() {
				t.Errorf("%s: page %s has no digest or a wrong one after the upgrade", h, p.Path)
			}
		}
		if _, v, err := st.SiteVersion(ctx, h); err != nil || v != k.Version {
			t.Errorf("%s: SiteVersion = %d, %v; want the version from before, %d", h, v, err, k.Version)
		}
	}
	for _, x := range []struct {
		table string
		count func(c orchard.SiteContent) int
	}{
		{"orchard_categories", func(c orchard.SiteContent) int { return len(c.Categories) }},
		{"orchard_pages", func(c orchard.SiteContent) int { return len(c.Pages) }},
		{"orchard_assets", func(c orchard.SiteContent) int { return len(c.Assets) }},
		{"orchard_templates", func(c orchard.SiteContent) int { return len(c.Templates) }},
	} {
		want := 0
		for _, k := range sites {
			want += x.count(k.Content)
		}
		if n, err := rows(x.table); err != nil || n != want {
			t.Errorf("%s has %d rows (%v), want %d", x.table, n, err, want)
		}
	}
}

// KeptSite is the n-th site of an upgrade fixture: a bit of every kind of
// content (two categories, three pages, two assets, two templates, a user,
// an alias and a redirect), each text naming host, so that two sites'
// rows cannot be mistaken for each other, and version 1000+n.
func KeptSite(host string, n int) Kept {
	at := func(s int) time.Time { return time.Unix(1_700_000_000+int64(s), 123_456_000).UTC() }
	tag := " of " + host
	return Kept{Version: int64(1000 + n), Content: orchard.SiteContent{
		Site: orchard.Site{Host: host, Prefix: orchard.TablePrefix(host), Title: "Title" + tag, Description: "D" + tag,
			Scheme: "https", CacheControl: "no-cache", FeedSize: 10 + n, Created: at(n), Updated: at(n + 1),
			Aliases:   []string{"www." + host},
			Redirects: []orchard.Redirect{{From: "/old/", To: "/news/"}}},
		Categories: []orchard.Category{
			{Path: "/news/", Title: "News" + tag, Description: "N", Sort: n, Created: at(2), Updated: at(3)},
			{Path: "/news/tech/", Title: "Tech" + tag, Sort: 1, Created: at(4), Updated: at(5)},
		},
		Pages: []orchard.Page{
			{Path: "/about/", Title: "About" + tag, Layout: "page", Format: orchard.FormatHTML, Body: "<p>about" + tag + "</p>",
				Published: true, Created: at(6), Updated: at(7)},
			{Path: "/news/a/", Category: "/news/", Title: "A" + tag, Layout: "post", Format: orchard.FormatMarkdown,
				Body: "# A" + tag, Description: "first", Created: at(8), Updated: at(9)},
			{Path: "/news/tech/b/", Category: "/news/tech/", Title: "B" + tag, Layout: "post", Format: orchard.FormatMarkdown,
				Body: "b" + tag, Published: true, Created: at(10), Updated: at(11)},
		},
		Assets: []orchard.Asset{
			{Path: "/theme/logo.png", ContentType: "image/png", Data: []byte{0, 1, 2, 0xff, byte(n)}, Updated: at(12)},
			{Path: "/theme/style.css", ContentType: "text/css; charset=utf-8", Data: []byte("body{}" + tag), Updated: at(13)},
		},
		Templates: []orchard.Template{
			{Name: "layouts/post.html", Body: "{{.Title}}" + tag, Updated: at(14)},
			{Name: "partials/footer.html", Body: "footer" + tag, Updated: at(15)},
		},
		Users: []orchard.User{{Site: host, Name: "editor", PasswordHash: "hash" + tag, Created: at(16)}},
	}}
}

// CheckMovedSites checks that the sites of an upgrade fixture made with
// KeptSite("a-b.example", 1), ("a.b.example", 2) and ("old.example", 3)
// are ordinary sites once moved: writable, isolated from each other (the
// first two hosts differ only in '-' and '.', as their old table prefixes
// did) and droppable. It leaves a.b.example and a new site, new.example,
// created after old.example was dropped; the caller checks that the new
// site got an id no site had.
func CheckMovedSites(t *testing.T, st orchard.Store) {
	t.Helper()
	ctx := t.Context()
	if err := st.PutPage(ctx, "a-b.example", &orchard.Page{Path: "/news/c/", Category: "/news/", Title: "C"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Page(ctx, "a.b.example", "/news/c/"); orchard.ErrorCode(err) != orchard.ENOTFOUND {
		t.Errorf("a page put on a-b.example reads on a.b.example: %v", err)
	}
	if err := st.DropSite(ctx, "a-b.example"); err != nil {
		t.Fatal(err)
	}
	if c, err := st.LoadSite(ctx, "a.b.example"); err != nil || len(c.Pages) != 3 || len(c.Categories) != 2 {
		t.Errorf("dropping a-b.example touched a.b.example: %v", err)
	}
	if err := st.DropSite(ctx, "old.example"); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSite(ctx, &orchard.Site{Host: "new.example"}); err != nil {
		t.Fatal(err)
	}
}
