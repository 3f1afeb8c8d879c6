package render_test

import (
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/render"
)

// withTemplate returns the fixture with one template replaced or added.
func withTemplate(tb testing.TB, name, body string) *orchard.SiteContent {
	tb.Helper()
	c := fixture(tb)
	for i := range c.Templates {
		if c.Templates[i].Name == name {
			c.Templates[i].Body = body
			return c
		}
	}
	c.Templates = append(c.Templates, orchard.Template{Name: name, Body: body})
	return c
}

func TestTemplateErrors(t *testing.T) {
	for _, tc := range []struct {
		name, tmpl, body string
		want             []string
	}{
		{"ParseError", "partials/navbar.html", "<nav>\n{{range .Menu}}\n{{.Title}\n</nav>", []string{"partials/navbar.html", ":3"}},
		{"UnknownFunction", "layouts/post.html", "line one\n{{frobnicate .}}", []string{"layouts/post.html", ":2", "frobnicate"}},
		{"UnclosedAction", "layouts/page.html", "{{if .Page}}", []string{"layouts/page.html"}},
		{"BadName", "layouts/../x.html", "x", []string{"layouts/../x.html"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render.New(withTemplate(t, tc.tmpl, tc.body))
			if orchard.ErrorCode(err) != orchard.EINVALID {
				t.Fatalf("New: got %v, want EINVALID", err)
			}
			msg := orchard.ErrorMessage(err)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			c := fixture(t)
			if err := render.ValidateTemplate(c, orchard.Template{Name: tc.tmpl, Body: tc.body}); orchard.ErrorCode(err) != orchard.EINVALID {
				t.Errorf("ValidateTemplate: got %v, want EINVALID", err)
			}
		})
	}
}

func TestExecuteErrors(t *testing.T) {
	for _, tc := range []struct {
		name, tmpl, body, key string
		want                  []string
	}{
		{"MissingField", "partials/post_header.html", "<h1>\n{{.Page.Nope}}</h1>", "/news/hello/index.html",
			[]string{"page /news/hello/", "layouts/post.html", "partials/post_header.html:2", "Nope"}},
		{"NilPage", "layouts/404.html", "{{.Page.Title}}", "/404.html", []string{"404", "layouts/404.html:1"}},
		{"MissingPartial", "layouts/category.html", `{{template "partials/nothere.html" .}}`, "/news/index.html",
			[]string{"category /news/", "partials/nothere.html"}},
		{"EscapeError", "partials/sidebar.html", `<a href="{{.Site.URL}}`, "/news/index.html",
			[]string{"category /news/", "layouts/category.html"}},
		{"CallDepth", "partials/loop.html", `{{template "partials/loop.html" .}}`, "",
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := withTemplate(t, tc.tmpl, tc.body)
			if tc.key == "" { // recursion: a layout calling a partial that calls itself
				c = withTemplate(t, "layouts/page.html", `{{template "partials/loop.html" .}}`)
				c.Templates = append(c.Templates, orchard.Template{Name: tc.tmpl, Body: tc.body})
				tc.key = "/about/index.html"
				tc.want = []string{"page /about/", "layouts/page.html"}
			}
			r := mustNew(t, c)
			if tc.name == "EscapeError" || tc.name == "MissingPartial" {
				tpl := c.Templates[len(c.Templates)-1]
				for _, x := range c.Templates {
					if x.Name == tc.tmpl {
						tpl = x
					}
				}
				if err := render.ValidateTemplate(fixture(t), tpl); orchard.ErrorCode(err) != orchard.EINVALID {
					t.Errorf("ValidateTemplate: got %v, want EINVALID", err)
				}
			}
			_, err := r.Render(tc.key)
			if orchard.ErrorCode(err) != orchard.EINVALID {
				t.Fatalf("Render: got %v, want EINVALID", err)
			}
			for _, w := range tc.want {
				if msg := orchard.ErrorMessage(err); !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
		})
	}
}

func TestMissingLayout(t *testing.T) {
	c := fixture(t)
	c.Pages[2].Layout = "gallery"
	r := mustNew(t, c)
	_, err := r.Render("/news/hello/index.html")
	if orchard.ErrorCode(err) != orchard.EINVALID || !strings.Contains(orchard.ErrorMessage(err), "layouts/gallery.html") {
		t.Fatalf("got %v, want EINVALID naming layouts/gallery.html", err)
	}
	o, _ := r.Lookup("/news/hello/index.html")
	found := false
	for _, d := range o.Deps {
		found = found || d == "template:layouts/gallery.html"
	}
	if !found {
		t.Errorf("deps %v lack the missing layout, so adding it would not re-render the page", o.Deps)
	}
}

func TestValidateTemplateOK(t *testing.T) {
	c := fixture(t)
	for _, tpl := range []orchard.Template{
		{Name: "partials/navbar.html", Body: `<nav>{{range .Menu}}<a href="{{.Path}}">{{.Title}}</a>{{end}}</nav>`},
		{Name: "layouts/gallery.html", Body: `{{template "partials/head.html" .}}<main>{{.Page.Content}}</main>{{template "partials/footer.html" .}}`},
	} {
		if err := render.ValidateTemplate(c, tpl); err != nil {
			t.Errorf("%s: %v", tpl.Name, err)
		}
	}
	if err := render.ValidateTemplate(nil, orchard.Template{Name: "layouts/x.html", Body: "{{.Title}}"}); err != nil {
		t.Errorf("nil content: %v", err)
	}
}

func TestBadContent(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *orchard.SiteContent)
	}{
		{"BadHost", func(c *orchard.SiteContent) { c.Site.Host = "../etc" }},
		{"BadPagePath", func(c *orchard.SiteContent) { c.Pages[1].Path = "/../x/" }},
		{"BadAssetPath", func(c *orchard.SiteContent) { c.Assets[0].Path = "/a/../../b.css" }},
		{"BadCategory", func(c *orchard.SiteContent) { c.Categories[0].Path = "news" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fixture(t)
			tc.edit(c)
			if _, err := render.New(c); orchard.ErrorCode(err) != orchard.EINVALID {
				t.Errorf("got %v, want EINVALID", err)
			}
		})
	}
	if _, err := render.New(nil); orchard.ErrorCode(err) != orchard.EINVALID {
		t.Errorf("nil content: got %v", err)
	}
}
