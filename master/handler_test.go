package master_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/master"
	"github.com/orchardhq/orchard/render"
	"github.com/orchardhq/orchard/sqlite"
)

// MustOpenStore opens a SQLite store in a temp dir holding the two sample
// sites with the default templates and theme.
func MustOpenStore(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "orchard.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	for _, c := range sample.Sites() {
		c.Templates = render.DefaultTemplates()
		c.Assets = render.DefaultTheme()
		if err := db.ReplaceSite(tb.Context(), c, false); err != nil {
			tb.Fatal(err)
		}
	}
	return db
}

// get sends one request with the given Host through the handler.
func get(tb testing.TB, h http.Handler, method, host, target string) *http.Response {
	tb.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.Host = host
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(tb testing.TB, resp *http.Response) string {
	tb.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestServe(t *testing.T) {
	db := MustOpenStore(t)
	h := master.NewSiteHandler(db, nil)
	for _, tc := range []struct {
		name, method, host, target string
		status                     int
		ctype, location, contains  string
	}{
		{"Home", "GET", "alpha.localhost", "/", 200, render.TypeHTML, "", "Welcome to Alpha Orchards"},
		{"HomePort", "GET", "alpha.localhost:8000", "/", 200, render.TypeHTML, "", "Welcome to Alpha Orchards"},
		{"HostCaseAndDot", "GET", "ALPHA.Localhost.", "/", 200, render.TypeHTML, "", "Welcome to Alpha Orchards"},
		{"Alias", "GET", "www.alpha.localhost", "/about/", 200, render.TypeHTML, "", "family orchard since 1952"},
		{"OtherSite", "GET", "blog.localhost", "/", 200, render.TypeHTML, "", "Pi Cluster Notes"},
		{"Post", "GET", "alpha.localhost", "/varieties/apples/bramley/", 200, render.TypeHTML, "", "<strong>Bramley</strong>"},
		{"IndexHTML", "GET", "alpha.localhost", "/news/index.html", 200, render.TypeHTML, "", "Bees are back"},
		{"Listing", "GET", "alpha.localhost", "/news/", 200, render.TypeHTML, "", "Bees are back"},
		{"Query", "GET", "alpha.localhost", "/news/?page=2", 200, render.TypeHTML, "", "Bees are back"},
		{"Escaped", "GET", "alpha.localhost", "/%6Eews/", 200, render.TypeHTML, "", "Bees are back"},
		{"Redirect", "GET", "alpha.localhost", "/news", 301, "text/plain; charset=utf-8", "/news/", ""},
		{"RedirectQuery", "GET", "alpha.localhost", "/news?x=1", 301, "text/plain; charset=utf-8", "/news/?x=1", ""},
		{"Theme", "GET", "alpha.localhost", "/theme/style.css", 200, "text/css; charset=utf-8", "", "--accent"},
		{"Feed", "GET", "blog.localhost", "/feed.xml", 200, render.TypeRSS, "", "<rss version=\"2.0\""},
		{"Sitemap", "GET", "blog.localhost", "/sitemap.xml", 200, render.TypeXML, "", "<loc>http://blog.localhost/notes/</loc>"},
		{"NotFound", "GET", "alpha.localhost", "/no/such/page/", 404, render.TypeHTML, "", "Page not found"},
		{"NotFoundFile", "GET", "alpha.localhost", "/theme/nope.css", 404, render.TypeHTML, "", "Page not found"},
		{"Draft", "GET", "blog.localhost", "/notes/unfinished-thoughts/", 404, render.TypeHTML, "", "Page not found"},
		{"UnknownHost", "GET", "nope.localhost", "/", 404, "text/plain; charset=utf-8", "", "no site"},
		{"InvalidHost", "GET", "../etc", "/", 404, "text/plain; charset=utf-8", "", "no site"},
		{"EmptyHost", "GET", "", "/", 404, "text/plain; charset=utf-8", "", "no site"},
		{"NULHost", "GET", "alpha\x00.localhost", "/", 404, "text/plain; charset=utf-8", "", "no site"},
		{"LongHost", "GET", strings.Repeat("a", 10<<10), "/", 404, "text/plain; charset=utf-8", "", "no site"},
		{"DotDot", "GET", "alpha.localhost", "/news/../../etc/passwd", 400, "text/plain; charset=utf-8", "", "bad request path"},
		{"EncodedDotDot", "GET", "alpha.localhost", "/news/%2e%2e/%2e%2e/etc/passwd", 400, "text/plain; charset=utf-8", "", "bad request path"},
		{"EncodedSlash", "GET", "alpha.localhost", "/news%2fbees-are-back/", 400, "text/plain; charset=utf-8", "", "bad request path"},
		{"NUL", "GET", "alpha.localhost", "/news/%00/", 400, "text/plain; charset=utf-8", "", "bad request path"},
		{"Backslash", "GET", "alpha.localhost", "/news/%5c..%5c/", 400, "text/plain; charset=utf-8", "", "bad request path"},
		{"Post405", "POST", "alpha.localhost", "/", 405, "text/plain; charset=utf-8", "", "method not allowed"},
		{"Delete405", "DELETE", "alpha.localhost", "/news/", 405, "text/plain; charset=utf-8", "", "method not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, h, tc.method, tc.host, tc.target)
			b := body(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d; body:\n%.300s", resp.StatusCode, tc.status, b)
			}
			if got := resp.Header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type = %q, want %q", got, tc.ctype)
			}
			if got := resp.Header.Get("Location"); got != tc.location {
				t.Errorf("Location = %q, want %q", got, tc.location)
			}
			if got := resp.Header.Get(orchard.ReleaseHeader); got != "dynamic" {
				t.Errorf("%s = %q, want dynamic", orchard.ReleaseHeader, got)
			}
			if !strings.Contains(b, tc.contains) {
				t.Errorf("body lacks %q:\n%.500s", tc.contains, b)
			}
			if tc.status == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q", resp.Header.Get("Allow"))
			}
			if strings.Contains(b, db.Path()) || strings.Contains(b, filepath.Dir(db.Path())) {
				t.Errorf("body names an internal path")
			}
		})
	}
}

// TestServeEqualsRender checks that every file is served byte for byte as
// render produces it from the stored content (what a release holds).
func TestServeEqualsRender(t *testing.T) {
	db := MustOpenStore(t)
	h := master.NewSiteHandler(db, nil)
	for _, host := range []string{sample.AlphaHost, sample.BlogHost} {
		c, err := db.LoadSite(t.Context(), host)
		if err != nil {
			t.Fatal(err)
		}
		r, err := render.New(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range r.Outputs() {
			want, err := r.Render(o.Path)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // rendered, then from the handler's cache
				resp := get(t, h, "GET", host, o.Path)
				if got := body(t, resp); resp.StatusCode != 200 || got != string(want) {
					t.Fatalf("%s%s: status %d, body differs from render", host, o.Path, resp.StatusCode)
				}
				if resp.Header.Get("Content-Type") != o.ContentType {
					t.Errorf("%s%s: Content-Type %q, want %q", host, o.Path, resp.Header.Get("Content-Type"), o.ContentType)
				}
			}
		}
	}
}

func TestHead(t *testing.T) {
	h := master.NewSiteHandler(MustOpenStore(t), nil)
	g := get(t, h, "GET", "alpha.localhost", "/about/")
	gb := body(t, g)
	resp := get(t, h, "HEAD", "alpha.localhost", "/about/")
	if b := body(t, resp); resp.StatusCode != 200 || b != "" {
		t.Fatalf("HEAD: status %d, body %q", resp.StatusCode, b)
	}
	if cl := resp.Header.Get("Content-Length"); cl == "" || cl != g.Header.Get("Content-Length") || cl != strconv.Itoa(len(gb)) {
		t.Errorf("HEAD Content-Length %q, GET %q, body %d", cl, g.Header.Get("Content-Length"), len(gb))
	}
	if resp := get(t, h, "HEAD", "alpha.localhost", "/missing/"); resp.StatusCode != 404 || body(t, resp) != "" {
		t.Errorf("HEAD of a missing page: status %d", resp.StatusCode)
	}
}

// TestEditsAreVisible checks that the request after an edit sees it, with
// every file of the site rendered and kept before each edit: a page, a
// category (its title in a post's breadcrumbs), a template, an asset, the
// site's settings, a new page (in its category's listing), an alias
// removed, a deleted page and a dropped site.
func TestEditsAreVisible(t *testing.T) {
	db := MustOpenStore(t)
	h := master.NewSiteHandler(db, nil)
	ctx := t.Context()
	host := sample.AlphaHost
	warm := func(t *testing.T) {
		t.Helper()
		c, err := db.LoadSite(ctx, host)
		if err != nil {
			t.Fatal(err)
		}
		r, err := render.New(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range r.Outputs() {
			if resp := get(t, h, "GET", host, o.Path); resp.StatusCode != 200 {
				t.Fatalf("warm %s: status %d", o.Path, resp.StatusCode)
			}
		}
	}
	// editPage and editSite read the page or the site, change it and save it.
	editPage := func(path string, change func(*orchard.Page)) func() error {
		return func() error {
			p, err := db.Page(ctx, host, path)
			if err != nil {
				return err
			}
			change(p)
			return db.PutPage(ctx, host, p)
		}
	}
	editSite := func(change func(*orchard.Site)) func() error {
		return func() error {
			s, err := db.Site(ctx, host)
			if err != nil {
				return err
			}
			change(s)
			return db.UpdateSite(ctx, s)
		}
	}
	for _, tc := range []struct {
		name       string
		edit       func() error
		host, path string
		status     int
		want       string
	}{
		{"Page", editPage("/about/", func(p *orchard.Page) { p.Body = "Rewritten **today**." }), host, "/about/", 200, "Rewritten <strong>today</strong>."},
		{"Category", func() error {
			c, err := db.Category(ctx, host, "/news/")
			if err != nil {
				return err
			}
			c.Title = "Latest tidings"
			return db.PutCategory(ctx, host, c)
		}, host, "/news/bees-are-back/", 200, ">Latest tidings</a>"},
		{"Template", func() error {
			return db.PutTemplate(ctx, host, &orchard.Template{Name: "partials/footer.html", Body: "<footer>new footer</footer></body></html>"})
		}, host, "/varieties/apples/bramley/", 200, "new footer"},
		{"Asset", func() error {
			return db.PutAsset(ctx, host, &orchard.Asset{Path: "/theme/style.css", ContentType: "text/css; charset=utf-8", Data: []byte("body{color:red}")})
		}, host, "/theme/style.css", 200, "body{color:red}"},
		{"Settings", editSite(func(s *orchard.Site) { s.Title = "Beta Orchards" }), host, "/contact/", 200, "Beta Orchards"},
		{"NewPage", func() error {
			return db.PutPage(ctx, host, &orchard.Page{Path: "/news/fresh/", Category: "/news/", Title: "A fresh post", Body: "New.", Published: true})
		}, host, "/news/", 200, "A fresh post"},
		{"Unpublish", editPage("/news/fresh/", func(p *orchard.Page) { p.Published = false }), host, "/news/fresh/", 404, "Page not found"},
		{"AliasRemoved", editSite(func(s *orchard.Site) { s.Aliases = nil }), "www.alpha.localhost", "/about/", 404, "no site"},
		{"DeletePage", func() error { return db.DeletePage(ctx, host, "/about/") }, host, "/about/", 404, "Page not found"},
		{"DropSite", func() error { return db.DropSite(ctx, host) }, host, "/", 404, "no site"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			warm(t)
			if err := tc.edit(); err != nil {
				t.Fatal(err)
			}
			resp := get(t, h, "GET", tc.host, tc.path)
			if b := body(t, resp); resp.StatusCode != tc.status || !strings.Contains(b, tc.want) {
				t.Errorf("%s%s after the edit: status %d (want %d), body lacks %q:\n%.600s", tc.host, tc.path, resp.StatusCode, tc.status, tc.want, b)
			}
		})
	}
}

// TestTemplateErrorIs500 checks that a broken template answers 500 without
// telling the visitor why, and that a broken 404 layout still gives a 404.
func TestTemplateErrorIs500(t *testing.T) {
	db := MustOpenStore(t)
	var logs bytes.Buffer
	h := master.NewSiteHandler(db, slogTo(&logs))
	ctx := t.Context()
	for _, tpl := range []orchard.Template{
		{Name: "partials/post_header.html", Body: "{{.Page.NoSuchField}}"},
		{Name: "layouts/404.html", Body: "{{.Nope}}"},
	} {
		if err := db.PutTemplate(ctx, sample.AlphaHost, &tpl); err != nil {
			t.Fatal(err)
		}
	}
	resp := get(t, h, "GET", sample.AlphaHost, "/news/bees-are-back/")
	if b := body(t, resp); resp.StatusCode != 500 || strings.Contains(b, "NoSuchField") {
		t.Errorf("broken template: status %d, body %q", resp.StatusCode, b)
	}
	if !strings.Contains(logs.String(), "partials/post_header.html") {
		t.Errorf("log does not name the template:\n%s", logs.String())
	}
	if resp := get(t, h, "GET", sample.AlphaHost, "/missing/"); resp.StatusCode != 404 {
		t.Errorf("broken 404 layout: status %d", resp.StatusCode)
	}
	if resp := get(t, h, "GET", sample.AlphaHost, "/about/"); resp.StatusCode != 200 {
		t.Errorf("a page that does not use the broken template: status %d", resp.StatusCode)
	}
}

// TestConcurrentEdits serves requests while pages change (run with -race).
func TestConcurrentEdits(t *testing.T) {
	db := MustOpenStore(t)
	h := master.NewSiteHandler(db, nil)
	h.MaxCacheBytes = 64 << 10 // small, so the budget is exercised
	ctx := t.Context()
	deadline := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			paths := []string{"/", "/news/", "/about/", "/feed.xml", "/varieties/apples/", "/nope/"}
			for i := 0; time.Now().Before(deadline) && i < 300; i++ {
				resp := get(t, h, "GET", sample.AlphaHost, paths[(i+w)%len(paths)])
				if resp.StatusCode != 200 && resp.StatusCode != 404 {
					t.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	}
	for i := 0; time.Now().Before(deadline) && i < 50; i++ {
		p := &orchard.Page{Path: "/news/live/", Category: "/news/", Title: "Live", Body: strings.Repeat("x", i), Published: true}
		if err := db.PutPage(ctx, sample.AlphaHost, p); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if b := body(t, get(t, h, "GET", sample.AlphaHost, "/news/live/")); !strings.Contains(b, "Live") {
		t.Errorf("last edit not served")
	}
}
