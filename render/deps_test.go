package render_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/render"
)

// dirty lists the outputs of b that an incremental build must re-render
// after a: new ones, and those whose deps, type or any dep's hash changed.
func dirty(a, b *render.Renderer) []string {
	var out []string
	for _, o := range b.Outputs() {
		if !reusable(a, b, o) {
			out = append(out, o.Path)
		}
	}
	return out
}

func reusable(a, b *render.Renderer, o render.Output) bool {
	old, ok := a.Lookup(o.Path)
	if !ok || old.ContentType != o.ContentType || !slices.Equal(old.Deps, o.Deps) {
		return false
	}
	for _, d := range o.Deps {
		h1, ok1 := a.Inputs()[d]
		h2, ok2 := b.Inputs()[d]
		if ok1 != ok2 || h1 != h2 {
			return false
		}
	}
	return true
}

// edits are the random changes TestDepsComplete applies.
var edits = []struct {
	name string
	fn   func(c *orchard.SiteContent, rng *rand.Rand)
}{
	{"body", func(c *orchard.SiteContent, rng *rand.Rand) {
		pick(c, rng).Body += fmt.Sprintf("\n\nmore %d", rng.IntN(100))
	}},
	{"body+updated", func(c *orchard.SiteContent, rng *rand.Rand) {
		p := pick(c, rng)
		p.Body += " edited"
		p.Updated = p.Updated.Add(3600e9)
	}},
	{"title", func(c *orchard.SiteContent, rng *rand.Rand) {
		pick(c, rng).Title = fmt.Sprintf("Title %d", rng.IntN(1000))
	}},
	{"description", func(c *orchard.SiteContent, rng *rand.Rand) {
		pick(c, rng).Description = fmt.Sprintf("Desc %d", rng.IntN(1000))
	}},
	{"publish", func(c *orchard.SiteContent, rng *rand.Rand) { p := pick(c, rng); p.Published = !p.Published }},
	{"created", func(c *orchard.SiteContent, rng *rand.Rand) { pick(c, rng).Created = day(rng.IntN(20)) }},
	{"add post", func(c *orchard.SiteContent, rng *rand.Rand) {
		cat := c.Categories[rng.IntN(len(c.Categories))]
		path := fmt.Sprintf("%sp%d/", cat.Path, rng.IntN(1_000_000))
		if !slices.ContainsFunc(c.Pages, func(p orchard.Page) bool { return p.Path == path }) {
			c.Pages = append(c.Pages, orchard.Page{Path: path, Category: cat.Path, Title: "New " + path, Body: "x",
				Published: true, Created: day(rng.IntN(20)), Updated: day(20)})
		}
	}},
	{"add page", func(c *orchard.SiteContent, rng *rand.Rand) {
		path := fmt.Sprintf("/loose%d/", rng.IntN(50))
		if !slices.ContainsFunc(c.Pages, func(p orchard.Page) bool { return p.Path == path }) {
			c.Pages = append(c.Pages, orchard.Page{Path: path, Title: "Loose " + path, Body: "y", Published: true, Created: day(rng.IntN(20))})
		}
	}},
	{"delete page", func(c *orchard.SiteContent, rng *rand.Rand) {
		if len(c.Pages) > 2 {
			i := rng.IntN(len(c.Pages))
			c.Pages = slices.Delete(c.Pages, i, i+1)
		}
	}},
	{"layout", func(c *orchard.SiteContent, rng *rand.Rand) {
		pick(c, rng).Layout = []string{"post", "page", "wide", "gallery"}[rng.IntN(4)]
	}},
	{"category title", func(c *orchard.SiteContent, rng *rand.Rand) {
		c.Categories[rng.IntN(len(c.Categories))].Title = fmt.Sprintf("Cat %d", rng.IntN(100))
	}},
	{"category description", func(c *orchard.SiteContent, rng *rand.Rand) {
		c.Categories[rng.IntN(len(c.Categories))].Description = fmt.Sprintf("About %d", rng.IntN(100))
	}},
	{"category sort", func(c *orchard.SiteContent, rng *rand.Rand) {
		c.Categories[rng.IntN(len(c.Categories))].Sort = rng.IntN(5)
	}},
	{"category updated", func(c *orchard.SiteContent, rng *rand.Rand) {
		c.Categories[rng.IntN(len(c.Categories))].Updated = day(rng.IntN(30))
	}},
	{"add category", func(c *orchard.SiteContent, rng *rand.Rand) {
		parent := ""
		if rng.IntN(2) == 0 {
			parent = c.Categories[rng.IntN(len(c.Categories))].Path
		}
		path := fmt.Sprintf("%s/c%d/", parent, rng.IntN(30))
		if parent != "" {
			path = fmt.Sprintf("%sc%d/", parent, rng.IntN(30))
		}
		if !slices.ContainsFunc(c.Categories, func(x orchard.Category) bool { return x.Path == path }) &&
			!slices.ContainsFunc(c.Pages, func(p orchard.Page) bool { return p.Path == path }) {
			c.Categories = append(c.Categories, orchard.Category{Path: path, Title: "C " + path})
		}
	}},
	{"navbar", func(c *orchard.SiteContent, rng *rand.Rand) {
		setTemplate(c, "partials/navbar.html", fmt.Sprintf(`<nav n=%d>{{range .Menu}}<a href="{{.Path}}">{{.Title}}</a>{{end}}</nav>`, rng.IntN(9)))
	}},
	{"post header", func(c *orchard.SiteContent, rng *rand.Rand) {
		setTemplate(c, "partials/post_header.html", fmt.Sprintf(`<h1 v=%d>{{.Page.Title}}</h1>`, rng.IntN(9)))
	}},
	{"layout 404", func(c *orchard.SiteContent, rng *rand.Rand) {
		setTemplate(c, "layouts/404.html", fmt.Sprintf(`Not found %d {{template "partials/footer.html" .}}`, rng.IntN(9)))
	}},
	{"wide layout", func(c *orchard.SiteContent, rng *rand.Rand) {
		if rng.IntN(3) == 0 {
			c.Templates = slices.DeleteFunc(c.Templates, func(t orchard.Template) bool { return t.Name == "layouts/wide.html" })
			return
		}
		setTemplate(c, "layouts/wide.html", fmt.Sprintf(`WIDE%d {{.Page.Title}}{{template "partials/extra.html" .}}`, rng.IntN(9)))
	}},
	{"extra partial", func(c *orchard.SiteContent, rng *rand.Rand) {
		if rng.IntN(3) == 0 {
			c.Templates = slices.DeleteFunc(c.Templates, func(t orchard.Template) bool { return t.Name == "partials/extra.html" })
			return
		}
		setTemplate(c, "partials/extra.html", fmt.Sprintf(`[extra %d]`, rng.IntN(9)))
	}},
	{"redefine footer", func(c *orchard.SiteContent, rng *rand.Rand) {
		// A file sorted after footer.html that redefines it wins.
		if rng.IntN(2) == 0 {
			c.Templates = slices.DeleteFunc(c.Templates, func(t orchard.Template) bool { return t.Name == "partials/zz.html" })
			return
		}
		setTemplate(c, "partials/zz.html", fmt.Sprintf(`{{define "partials/footer.html"}}<footer>zz %d</footer>{{end}}`, rng.IntN(9)))
	}},
	{"asset", func(c *orchard.SiteContent, rng *rand.Rand) {
		c.Assets[rng.IntN(len(c.Assets))].Data = fmt.Appendf(nil, "data %d", rng.IntN(100))
	}},
	{"site title", func(c *orchard.SiteContent, rng *rand.Rand) { c.Site.Title = fmt.Sprintf("Site %d", rng.IntN(100)) }},
	{"feed size", func(c *orchard.SiteContent, rng *rand.Rand) { c.Site.FeedSize = 1 + rng.IntN(5) }},
	{"scheme", func(c *orchard.SiteContent, rng *rand.Rand) { c.Site.Scheme = []string{"http", "https"}[rng.IntN(2)] }},
}

// pick returns a random page to edit.
func pick(c *orchard.SiteContent, rng *rand.Rand) *orchard.Page {
	return &c.Pages[rng.IntN(len(c.Pages))]
}

func setTemplate(c *orchard.SiteContent, name, body string) {
	for i := range c.Templates {
		if c.Templates[i].Name == name {
			c.Templates[i].Body = body
			return
		}
	}
	c.Templates = append(c.Templates, orchard.Template{Name: name, Body: body})
}

// renderAll renders every output; a failing render is kept as its error.
func renderAll(r *render.Renderer) map[string][]byte {
	out := map[string][]byte{}
	for _, o := range r.Outputs() {
		b, err := r.Render(o.Path)
		if err != nil {
			b = []byte("ERROR " + err.Error())
		}
		out[o.Path] = slices.Clone(b)
	}
	return out
}

// TestDepsComplete applies random edits and checks, after each, that every
// output an incremental build would reuse renders to the same bytes as
// before: re-rendering only dirty outputs equals re-rendering everything.
func TestDepsComplete(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := fixture(t)
	prev := mustNew(t, c)
	prevBytes := renderAll(prev)
	reused, rerendered := 0, 0
	for step := range 400 {
		e := edits[rng.IntN(len(edits))]
		e.fn(c, rng)
		next, err := render.New(c)
		if err != nil {
			t.Fatalf("step %d (%s): New: %v", step, e.name, err)
		}
		nextBytes := renderAll(next)
		for _, o := range next.Outputs() {
			if !reusable(prev, next, o) {
				rerendered++
				continue
			}
			reused++
			if !bytes.Equal(prevBytes[o.Path], nextBytes[o.Path]) {
				t.Fatalf("step %d (%s): %s was reused, but its bytes changed:\nold: %s\nnew: %s",
					step, e.name, o.Path, prevBytes[o.Path], nextBytes[o.Path])
			}
		}
		prev, prevBytes = next, nextBytes
	}
	if reused == 0 || rerendered == 0 {
		t.Errorf("reused %d, re-rendered %d: the test exercised nothing", reused, rerendered)
	}
	t.Logf("reused %d outputs, re-rendered %d", reused, rerendered)
}

// TestDepsTight checks that edits mark only the outputs they should.
func TestDepsTight(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *orchard.SiteContent)
		want []string
	}{
		{"PageBody", func(c *orchard.SiteContent) { c.Pages[6].Body = "Bake it slowly." },
			[]string{"/recipes/pie/index.html"}},
		{"PageBodyAndUpdated", func(c *orchard.SiteContent) { c.Pages[6].Body = "Bake."; c.Pages[6].Updated = day(9) },
			[]string{"/recipes/pie/index.html", "/sitemap.xml"}},
		{"PostTitle", func(c *orchard.SiteContent) { c.Pages[6].Title = "Pear pie" },
			[]string{"/index.html", "/recipes/index.html", "/recipes/pie/index.html"}}, // not in the 3-post feed
		{"NewestPostTitle", func(c *orchard.SiteContent) { c.Pages[4].Title = "A tablet" },
			[]string{"/feed.xml", "/index.html", "/news/tech/index.html", "/news/tech/phone/index.html"}},
		{"Draft", func(c *orchard.SiteContent) { c.Pages[5].Body = "still secret" }, nil},
		{"Asset", func(c *orchard.SiteContent) { c.Assets[0].Data = []byte("body{}") }, []string{"/theme/style.css"}},
		{"Layout404", func(c *orchard.SiteContent) { setTemplate(c, "layouts/404.html", "gone") }, []string{"/404.html"}},
		{"PostHeader", func(c *orchard.SiteContent) { setTemplate(c, "partials/post_header.html", "<h1>{{.Page.Title}}</h1>") },
			[]string{"/news/hello/index.html", "/news/second/index.html", "/news/tech/phone/index.html", "/recipes/pie/index.html"}},
		{"CategoryDescription", func(c *orchard.SiteContent) { c.Categories[2].Description = "Food." },
			[]string{"/index.html", "/recipes/index.html", "/recipes/pie/index.html"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fixture(t)
			a := mustNew(t, c)
			tc.edit(c)
			b := mustNew(t, c)
			if got := dirty(a, b); !slices.Equal(got, tc.want) {
				t.Errorf("dirty outputs:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
	t.Run("Navbar", func(t *testing.T) {
		c := fixture(t)
		a := mustNew(t, c)
		setTemplate(c, "partials/navbar.html", "<nav></nav>")
		got := dirty(a, mustNew(t, c))
		for _, o := range a.Outputs() {
			html := o.ContentType == render.TypeHTML
			if html != slices.Contains(got, o.Path) {
				t.Errorf("%s: dirty %v, want %v", o.Path, !html, html)
			}
		}
	})
}
