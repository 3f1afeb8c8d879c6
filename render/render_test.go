package render_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/render"
)

// day is the fixture's clock: day(n) is n days after a fixed instant.
func day(n int) time.Time {
	return time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC).Add(time.Duration(n) * 24 * time.Hour)
}

// fixture returns a small site with nested categories, posts, pages, a
// draft, Markdown and HTML bodies, and the default theme and templates.
func fixture(tb testing.TB) *orchard.SiteContent {
	tb.Helper()
	c := &orchard.SiteContent{
		Site: orchard.Site{Host: "example.test", Title: "Example & Co", Description: "A site for <tests>.",
			Scheme: "https", FeedSize: 3},
		Categories: []orchard.Category{
			{Path: "/news/", Title: "News", Description: "What is new.", Sort: 1, Updated: day(0)},
			{Path: "/news/tech/", Title: "Tech", Description: "Gadgets.", Sort: 1, Updated: day(0)},
			{Path: "/recipes/", Title: "Recipes", Sort: 2, Updated: day(1)},
		},
		Pages: []orchard.Page{
			{Path: "/", Title: "Welcome", Body: "Hello **world**. See [news](/news/).", Published: true, Created: day(0), Updated: day(2)},
			{Path: "/about/", Title: "About", Body: "<p>Raw <em>HTML</em> page.</p>", Format: orchard.FormatHTML, Published: true, Created: day(1), Updated: day(1)},
			{Path: "/news/hello/", Category: "/news/", Title: "Hello", Description: "The first post.",
				Body:      "# Hi\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ new, see https://example.org\n\n<script>alert(1)</script>",
				Published: true, Created: day(3), Updated: day(4)},
			{Path: "/news/second/", Category: "/news/", Title: "Second post", Description: "More news.", Body: "Text.", Published: true, Created: day(5), Updated: day(5)},
			{Path: "/news/tech/phone/", Category: "/news/tech/", Title: "A phone", Body: "Small.", Published: true, Created: day(6), Updated: day(6)},
			{Path: "/news/draft/", Category: "/news/", Title: "Draft", Body: "Secret draft.", Published: false, Created: day(7), Updated: day(7)},
			{Path: "/recipes/pie/", Category: "/recipes/", Title: "Apple pie", Description: "Sweet.", Body: "Bake it.", Published: true, Created: day(2), Updated: day(2)},
		},
		Assets:    render.DefaultTheme(),
		Templates: render.DefaultTemplates(),
	}
	c.Assets = append(c.Assets, orchard.Asset{Path: "/img/logo.png", ContentType: "image/png", Data: []byte("\x89PNG fake")})
	return c
}

func mustNew(tb testing.TB, c *orchard.SiteContent) *render.Renderer {
	tb.Helper()
	r, err := render.New(c)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return r
}

func mustRender(tb testing.TB, r *render.Renderer, key string) []byte {
	tb.Helper()
	b, err := r.Render(key)
	if err != nil {
		tb.Fatalf("Render(%s): %v", key, err)
	}
	return b
}

func TestOutputs(t *testing.T) {
	r := mustNew(t, fixture(t))
	var got []string
	for _, o := range r.Outputs() {
		got = append(got, o.Path)
		if o.ContentType == "" {
			t.Errorf("%s has no content type", o.Path)
		}
		if !slices.IsSorted(o.Deps) || len(o.Deps) == 0 {
			t.Errorf("%s deps %v are empty or unsorted", o.Path, o.Deps)
		}
	}
	want := []string{"/404.html", "/about/index.html", "/feed.xml", "/img/logo.png", "/index.html", "/news/hello/index.html",
		"/news/index.html", "/news/second/index.html", "/news/tech/index.html", "/news/tech/phone/index.html",
		"/recipes/index.html", "/recipes/pie/index.html", "/robots.txt", "/sitemap.xml", "/theme/style.css"}
	if !slices.Equal(got, want) {
		t.Errorf("outputs:\n got %v\nwant %v", got, want)
	}
	robots, err := r.Render(render.RobotsKey)
	if err != nil || !strings.Contains(string(robots), "Sitemap: "+r.Site().URL+"/sitemap.xml\n") || !strings.HasPrefix(string(robots), "User-agent: *\n") {
		t.Errorf("robots.txt: %v\n%s", err, robots)
	}
	// A site's own robots.txt wins.
	c := fixture(t)
	c.Assets = append(c.Assets, orchard.Asset{Path: "/robots.txt", ContentType: "text/plain", Data: []byte("User-agent: *\nDisallow: /\n")})
	if own, err := mustNew(t, c).Render(render.RobotsKey); err != nil || string(own) != "User-agent: *\nDisallow: /\n" {
		t.Errorf("own robots.txt: %v %q", err, own)
	}
	if _, err := r.Render("/news/draft/index.html"); orchard.ErrorCode(err) != orchard.ENOTFOUND {
		t.Errorf("draft: got %v, want ENOTFOUND", err)
	}
	for _, o := range r.Outputs() {
		if b := mustRender(t, r, o.Path); bytes.Contains(b, []byte("draft")) || bytes.Contains(b, []byte("Draft")) {
			t.Errorf("%s mentions the draft", o.Path)
		}
	}
	if b := mustRender(t, r, "/img/logo.png"); string(b) != "\x89PNG fake" {
		t.Errorf("asset bytes = %q", b)
	}
}

func TestRenderContent(t *testing.T) {
	r := mustNew(t, fixture(t))
	for _, tc := range []struct {
		key      string
		want     []string
		dontWant []string
	}{
		{"/news/hello/index.html",
			[]string{"<table>", "<del>old</del>", `<a href="https://example.org">`, `<h1 id="hi">Hi</h1>`,
				`<a href="/news/">News</a>`, "Example &amp; Co", "The first post.", `href="https://example.test/news/hello/"`},
			[]string{"<script>alert(1)</script>"}},
		{"/about/index.html", []string{"<p>Raw <em>HTML</em> page.</p>", `<a href="/about/" aria-current="page">About</a>`}, nil},
		{"/news/index.html", []string{"Hello", "Second post", `href="/news/tech/"`}, []string{"A phone"}},
		{"/news/tech/index.html", []string{"A phone", `<a href="/news/">News</a>`}, nil},
		{"/index.html", []string{"Hello <strong>world</strong>", "A phone", "Apple pie"}, nil},
		{"/feed.xml", []string{"<title>A phone</title>", "<title>Second post</title>", "<title>Hello</title>", "https://example.test/news/hello/",
			"Sat, 07 Mar 2026 09:30:00 +0000"}, []string{"Apple pie"}},
		{"/sitemap.xml", []string{"<loc>https://example.test/</loc>", "<loc>https://example.test/news/tech/phone/</loc>",
			"<lastmod>2026-03-05T09:30:00Z</lastmod>"}, []string{"draft", "404"}},
	} {
		b := string(mustRender(t, r, tc.key))
		for _, w := range tc.want {
			if !strings.Contains(b, w) {
				t.Errorf("%s lacks %q", tc.key, w)
			}
		}
		for _, w := range tc.dontWant {
			if strings.Contains(b, w) {
				t.Errorf("%s has %q", tc.key, w)
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	a, b := mustNew(t, fixture(t)), mustNew(t, fixture(t))
	if !slices.EqualFunc(a.Outputs(), b.Outputs(), func(x, y render.Output) bool {
		return x.Path == y.Path && x.ContentType == y.ContentType && slices.Equal(x.Deps, y.Deps)
	}) {
		t.Fatal("outputs differ between two renderers of the same content")
	}
	for _, o := range a.Outputs() {
		if !bytes.Equal(mustRender(t, a, o.Path), mustRender(t, b, o.Path)) {
			t.Errorf("%s renders differently", o.Path)
		}
	}
	for k, v := range a.Inputs() {
		if b.Inputs()[k] != v {
			t.Errorf("input %s hashes differently", k)
		}
	}
}

func TestDefaults(t *testing.T) {
	c := fixture(t)
	c.Templates = nil // every template falls back to the default
	r := mustNew(t, c)
	full := mustNew(t, fixture(t))
	for _, o := range r.Outputs() {
		if !bytes.Equal(mustRender(t, r, o.Path), mustRender(t, full, o.Path)) {
			t.Errorf("%s differs with the default templates left out", o.Path)
		}
	}
	names := map[string]bool{}
	for _, tpl := range render.DefaultTemplates() {
		if err := tpl.Validate(); err != nil {
			t.Errorf("default template %s: %v", tpl.Name, err)
		}
		names[tpl.Name] = true
	}
	for _, n := range []string{"layouts/post.html", "layouts/page.html", "layouts/category.html", "layouts/home.html", "layouts/404.html",
		"partials/top.html", "partials/bottom.html", "partials/banner.html", "partials/navbar.html", "partials/sidebar.html", "partials/footer.html",
		"partials/post_header.html"} {
		if !names[n] {
			t.Errorf("no default %s", n)
		}
	}
	theme := render.DefaultTheme()
	if len(theme) == 0 || theme[0].Path != "/theme/style.css" || !strings.HasPrefix(theme[0].ContentType, "text/css") {
		t.Errorf("default theme = %+v", theme)
	}
}

func TestHomeWithoutPage(t *testing.T) {
	c := fixture(t)
	c.Pages = slices.DeleteFunc(c.Pages, func(p orchard.Page) bool { return p.Path == "/" })
	r := mustNew(t, c)
	b := string(mustRender(t, r, "/index.html"))
	if !strings.Contains(b, "Latest posts") || !strings.Contains(b, "A phone") || strings.Contains(b, "Welcome") {
		t.Errorf("home without a page at / should list the newest posts:\n%s", b)
	}
}

func TestOverrideTemplate(t *testing.T) {
	c := fixture(t)
	for i := range c.Templates {
		if c.Templates[i].Name == "partials/footer.html" {
			c.Templates[i].Body = `<footer>custom {{.Site.Host}}</footer></body></html>`
		}
	}
	c.Templates = append(c.Templates, orchard.Template{Name: "layouts/wide.html", Body: `WIDE {{.Page.Title}} {{template "partials/footer.html" .}}`})
	for i := range c.Pages {
		if c.Pages[i].Path == "/recipes/pie/" {
			c.Pages[i].Layout = "wide"
		}
	}
	r := mustNew(t, c)
	if b := string(mustRender(t, r, "/news/hello/index.html")); !strings.Contains(b, "<footer>custom example.test</footer>") {
		t.Errorf("override not used:\n%s", b)
	}
	if b := string(mustRender(t, r, "/recipes/pie/index.html")); b != "WIDE Apple pie <footer>custom example.test</footer></body></html>" {
		t.Errorf("custom layout: %q", b)
	}
	o, _ := r.Lookup("/recipes/pie/index.html")
	if !slices.Contains(o.Deps, "template:layouts/wide.html") || !slices.Contains(o.Deps, "template:partials/footer.html") ||
		slices.Contains(o.Deps, "template:partials/navbar.html") {
		t.Errorf("custom layout deps = %v", o.Deps)
	}
}

// TestSitePort: absolute URLs (canonical, sitemap, feed) name the port the
// site is served on, unless it is the scheme's default.
func TestSitePort(t *testing.T) {
	for _, tc := range []struct {
		scheme string
		port   int
		want   string
	}{
		{"https", 0, "https://example.test"},
		{"https", 443, "https://example.test"},
		{"https", 8443, "https://example.test:8443"},
		{"http", 80, "http://example.test"},
		{"http", 8000, "http://example.test:8000"},
		{"http", 70000, "http://example.test"},
	} {
		c := fixture(t)
		c.Site.Scheme, c.Site.Port = tc.scheme, tc.port
		r := mustNew(t, c)
		if got := r.Site().URL; got != tc.want {
			t.Errorf("%s port %d: URL %q, want %q", tc.scheme, tc.port, got, tc.want)
		}
		sitemap, err := r.Render(render.SitemapKey)
		if err != nil || !strings.Contains(string(sitemap), "<loc>"+tc.want+"/news/hello/</loc>") {
			t.Errorf("%s port %d: sitemap %v\n%s", tc.scheme, tc.port, err, sitemap)
		}
	}
}
