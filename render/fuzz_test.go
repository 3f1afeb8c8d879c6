package render_test

import (
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/render"
)

// FuzzRender feeds outside input (a template body, a page body in Markdown
// or HTML, a title) through New and every Render: nothing may panic, and a
// failure must be an *orchard.Error.
func FuzzRender(f *testing.F) {
	f.Add(`{{template "partials/head.html" .}}{{.Page.Content}}`, "# Hi\n\n| a |\n|---|\n| b |", "Title", false)
	f.Add(`{{range .Posts}}{{.Title}}{{end}}{{block "x" .}}{{end}}`, "<script>x</script>", "<b>", true)
	f.Add(`{{define "partials/footer.html"}}{{template "partials/footer.html" .}}{{end}}`, "~~x~~ www.example.com", "t", false)
	f.Add(`{{.Page.Nope}}{{template "missing" .}}`, "[a](javascript:alert(1))", "t", false)
	f.Add(`<a href="{{.Site.URL}}`, "* [ ] task\n* [x] done", "t", false)
	f.Add(`{{if}}`, "```\ncode\n```", "t", false)
	f.Fuzz(func(t *testing.T, tmpl, body, title string, html bool) {
		c := fixture(t)
		setTemplate(c, "layouts/post.html", tmpl)
		c.Pages[2].Body = body
		c.Pages[2].Title = title
		if html {
			c.Pages[2].Format = orchard.FormatHTML
		}
		if err := render.ValidateTemplate(c, orchard.Template{Name: "layouts/post.html", Body: tmpl}); err != nil && orchard.ErrorCode(err) == orchard.EINTERNAL {
			t.Fatalf("ValidateTemplate: %v", err)
		}
		r, err := render.New(c)
		if err != nil {
			if orchard.ErrorCode(err) == orchard.EINTERNAL {
				t.Fatalf("New: %v", err)
			}
			return
		}
		for _, o := range r.Outputs() {
			if _, err := r.Render(o.Path); err != nil && orchard.ErrorCode(err) == orchard.EINTERNAL {
				t.Fatalf("Render(%s): %v", o.Path, err)
			}
		}
	})
}
