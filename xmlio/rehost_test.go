package xmlio_test

import (
	"slices"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/xmlio"
)

// TestRehostLinks: absolute links to the old host and its aliases follow
// the new host; other hosts, look-alike names, paths and e-mail addresses
// are left alone.
func TestRehostLinks(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
		links          int
	}{
		{"HTTP", `<a href="http://example.com/a/">`, `<a href="http://staging.example.com/a/">`, 1},
		{"HTTPS", `[x](https://example.com/)`, `[x](https://staging.example.com/)`, 1},
		{"SchemeRelative", `src="//example.com/x.png"`, `src="//staging.example.com/x.png"`, 1},
		{"Alias", `http://www.example.com/b/ and http://example.com`, `http://staging.example.com/b/ and http://staging.example.com`, 2},
		{"UpperCase", `HTTP://Example.COM/x`, `HTTP://staging.example.com/x`, 1},
		{"Port", `http://example.com:8080/`, `http://staging.example.com:8080/`, 1},
		{"QueryAndFragment", `http://example.com?q=1 http://example.com#top`, `http://staging.example.com?q=1 http://staging.example.com#top`, 2},
		{"SentenceDot", `See http://example.com.`, `See http://staging.example.com.`, 1},
		{"TrailingDotName", `http://example.com./`, `http://staging.example.com./`, 1},
		{"OtherHost", `http://example.org/ http://notexample.com/`, `http://example.org/ http://notexample.com/`, 0},
		{"LongerName", `http://example.com.evil.org/ http://example.community/ http://example.com-x/`, `http://example.com.evil.org/ http://example.community/ http://example.com-x/`, 0},
		{"SubdomainOfHost", `http://cdn.example.com/`, `http://cdn.example.com/`, 0},
		{"Path", `/a//example.com/`, `/a//example.com/`, 0},
		{"Email", `mailto:info@example.com`, `mailto:info@example.com`, 0},
		{"PlainMention", `Welcome to example.com`, `Welcome to example.com`, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &orchard.SiteContent{
				Site:  orchard.Site{Host: "example.com", Aliases: []string{"www.example.com"}},
				Pages: []orchard.Page{{Path: "/p/", Body: tt.in}},
			}
			rep := xmlio.Rehost(c, "staging.example.com", false)
			if got := c.Pages[0].Body; got != tt.want {
				t.Errorf("body %q became %q, want %q", tt.in, got, tt.want)
			}
			if rep.Links != tt.links {
				t.Errorf("%d links rewritten, want %d", rep.Links, tt.links)
			}
		})
	}
}

// TestRehostSite: every kind of item is rewritten and counted, binary
// assets are not touched, users move, aliases go (or stay with
// keepAliases) and the summary line says what was renamed.
func TestRehostSite(t *testing.T) {
	content := func() *orchard.SiteContent {
		return &orchard.SiteContent{
			Site:       orchard.Site{Host: "example.com", Aliases: []string{"old.example.com", "www.example.com"}, Title: "example.com", Description: "x"},
			Categories: []orchard.Category{{Path: "/a/", Description: "see https://example.com/a/"}},
			Pages: []orchard.Page{
				{Path: "/p/", Body: "[home](http://www.example.com/) [me](http://example.com/p/)"},
				{Path: "/q/", Body: "no links"},
				{Path: "/r/", Description: "//example.com/r/"},
			},
			Templates: []orchard.Template{{Name: "partials/footer.html", Body: `<a href="https://example.com/">home</a>`}},
			Assets: []orchard.Asset{
				{Path: "/theme/style.css", ContentType: "text/css; charset=utf-8", Data: []byte("a{background:url(//example.com/i.png)}")},
				{Path: "/i.png", ContentType: "image/png", Data: []byte("\x89PNG http://example.com/")},
			},
			Users: []orchard.User{{Site: "example.com", Name: "admin"}},
		}
	}
	t.Run("OK", func(t *testing.T) {
		c := content()
		rep := xmlio.Rehost(c, "staging.example.com", false)
		if c.Site.Host != "staging.example.com" || c.Site.Title != "staging.example.com" {
			t.Errorf("site is %q titled %q", c.Site.Host, c.Site.Title)
		}
		if len(c.Site.Aliases) != 0 || !slices.Equal(rep.DroppedAliases, []string{"old.example.com", "www.example.com"}) {
			t.Errorf("aliases %v, dropped %v", c.Site.Aliases, rep.DroppedAliases)
		}
		if c.Users[0].Site != "staging.example.com" {
			t.Errorf("user belongs to %q", c.Users[0].Site)
		}
		if got := string(c.Assets[0].Data); got != "a{background:url(//staging.example.com/i.png)}" {
			t.Errorf("CSS became %q", got)
		}
		if got := string(c.Assets[1].Data); got != "\x89PNG http://example.com/" {
			t.Errorf("a PNG was rewritten: %q", got)
		}
		want := "renamed example.com (and old.example.com, www.example.com) -> staging.example.com in the settings, 1 category, 2 pages, 1 template, 1 asset (6 links)"
		if got := rep.Summary(); got != want {
			t.Errorf("summary\n got %q\nwant %q", got, want)
		}
	})
	t.Run("KeepAliases", func(t *testing.T) {
		c := content()
		rep := xmlio.Rehost(c, "www.example.com", true)
		if !slices.Equal(c.Site.Aliases, []string{"old.example.com"}) || rep.DroppedAliases != nil {
			t.Errorf("with keepAliases: aliases %v, dropped %v (the new host is no alias of itself)", c.Site.Aliases, rep.DroppedAliases)
		}
	})
	t.Run("SameHost", func(t *testing.T) {
		c := content()
		rep := xmlio.Rehost(c, "example.com", false)
		if rep.Links != 0 || len(c.Site.Aliases) != 2 || c.Pages[0].Body != content().Pages[0].Body {
			t.Errorf("rehost to the same host changed the site: %+v", rep)
		}
	})
}

// FuzzRehost: rewriting any text never panics, and rewritten text holds no
// link to the old hosts that a second pass would find.
func FuzzRehost(f *testing.F) {
	for _, s := range []string{"http://example.com/", "//www.example.com//example.com", "a//example.com.", "HTTPS://EXAMPLE.COM:80", "//example.com.evil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		site := func(body string) *orchard.SiteContent {
			return &orchard.SiteContent{
				Site:  orchard.Site{Host: "example.com", Aliases: []string{"www.example.com"}},
				Pages: []orchard.Page{{Path: "/p/", Body: body}},
			}
		}
		c := site(s)
		xmlio.Rehost(c, "staging.example.com", false)
		again := site(c.Pages[0].Body)
		if rep := xmlio.Rehost(again, "staging.example.com", false); rep.Links != 0 {
			t.Errorf("%q rewritten to %q still has %d links to the old hosts", s, c.Pages[0].Body, rep.Links)
		}
	})
}

// TestRehostRedirects: a redirect's absolute target on the old host (or an
// alias) follows the new host; paths and other hosts stay.
func TestRehostRedirects(t *testing.T) {
	c := &orchard.SiteContent{Site: orchard.Site{Host: "example.com", Aliases: []string{"www.example.com"}, Redirects: []orchard.Redirect{
		{From: "/a/", To: "https://www.example.com/new/"},
		{From: "/b/", To: "/new/"},
		{From: "/c/", To: "https://example.org/x"},
	}}}
	rep := xmlio.Rehost(c, "staging.example.com", false)
	want := []string{"https://staging.example.com/new/", "/new/", "https://example.org/x"}
	for i, r := range c.Site.Redirects {
		if r.To != want[i] {
			t.Errorf("redirect from %s goes to %q, want %q", r.From, r.To, want[i])
		}
	}
	if rep.Items["redirect"] != 1 {
		t.Errorf("report counts %d redirects, want 1", rep.Items["redirect"])
	}
}
