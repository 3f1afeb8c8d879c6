package admin_test

import (
	"bytes"
	"context"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/admin"
	"github.com/orchardhq/orchard/internal/sample"
)

const alpha = "/sites/" + sample.AlphaHost

func TestPages(t *testing.T) {
	u := newUI(t, admin.Options{})
	c := u.client()
	c.login(sample.AlphaHost, siteName, sitePass)
	ctx := context.Background()

	t.Run("ValidationKeepsInput", func(t *testing.T) {
		tests := []struct {
			name  string
			form  url.Values
			field string // id of the input whose message must follow
			msg   string
		}{
			{"BadPath", url.Values{"path": {"/Bad Path/"}, "title": {"Typed <title>"}, "body": {"My **body** & more"}}, "path", "may hold only lower-case"},
			{"NoTitle", url.Values{"path": {"/ok/"}, "title": {" "}, "body": {"kept body"}}, "title", "Title is required."},
			{"MissingCategory", url.Values{"path": {"/nosuch/page/"}, "title": {"T"}, "body": {"b"}}, "path", "does not exist"},
			{"BadFormat", url.Values{"path": {"/fmt/"}, "title": {"T"}, "format": {"pdf"}}, "format", "Format must be"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := c.post(alpha+"/pages", tt.form)
				wantStatus(t, "save", r, http.StatusBadRequest)
				for k, v := range tt.form {
					if k != "format" && v[0] != " " && !strings.Contains(r.body, html.EscapeString(v[0])) {
						t.Errorf("typed %s %q was lost", k, v[0])
					}
				}
				i := strings.Index(r.body, `id="`+tt.field+`"`)
				j := strings.Index(r.body, `class="field-error"`)
				if i < 0 || j < i || !strings.Contains(r.body[j:], html.EscapeString(tt.msg)) {
					t.Errorf("no message %q after field %s\n%s", tt.msg, tt.field, r.body)
				}
			})
		}
	})

	t.Run("CreateEditMoveDelete", func(t *testing.T) {
		r := c.post(alpha+"/pages", url.Values{"path": {"/news/fresh"}, "title": {"Fresh"}, "body": {"Hello *fresh*"}, "published": {"on"}})
		wantStatus(t, "create", r, http.StatusSeeOther)
		p, err := u.store.Page(ctx, sample.AlphaHost, "/news/fresh/")
		if err != nil || p.Category != "/news/" || !p.Published || p.Format != orchard.FormatMarkdown {
			t.Fatalf("stored page %+v, %v", p, err)
		}
		r = c.get(alpha + "/pages/edit?path=%2Fnews%2Ffresh%2F")
		wantBody(t, "edit form", r, "Hello *fresh*", "checked")
		r = c.post(alpha+"/pages", url.Values{"orig": {"/news/fresh/"}, "path": {"/news/renamed/"}, "title": {"Fresh"}, "body": {"v2"}})
		wantStatus(t, "move", r, http.StatusSeeOther)
		if _, err := u.store.Page(ctx, sample.AlphaHost, "/news/fresh/"); orchard.ErrorCode(err) != orchard.ENOTFOUND {
			t.Fatalf("old path still there: %v", err)
		}
		p, err = u.store.Page(ctx, sample.AlphaHost, "/news/renamed/")
		if err != nil || p.Published || p.Body != "v2" {
			t.Fatalf("moved page %+v, %v", p, err)
		}
		wantStatus(t, "create over existing", c.post(alpha+"/pages", url.Values{"path": {"/news/renamed/"}, "title": {"X"}}), http.StatusBadRequest)
		wantStatus(t, "delete", c.post(alpha+"/pages/delete", url.Values{"path": {"/news/renamed/"}}), http.StatusSeeOther)
		if _, err := u.store.Page(ctx, sample.AlphaHost, "/news/renamed/"); orchard.ErrorCode(err) != orchard.ENOTFOUND {
			t.Fatalf("deleted page still there: %v", err)
		}
	})

	t.Run("FrontMatter", func(t *testing.T) {
		// A Hugo file pasted into the body, the title field left empty.
		body := "---\r\ntitle: From front matter\r\ndate: 2024-05-01\r\ndraft: false\r\ndescription: Pasted\r\n---\r\n# Heading\r\n"
		r := c.post(alpha+"/pages", url.Values{"path": {"/news/pasted/"}, "title": {""}, "body": {body}})
		wantStatus(t, "save with front matter", r, http.StatusSeeOther)
		p, err := u.store.Page(ctx, sample.AlphaHost, "/news/pasted/")
		if err != nil {
			t.Fatal(err)
		}
		if p.Title != "From front matter" || p.Description != "Pasted" || !p.Published || p.Body != "# Heading\n" ||
			!p.Created.Equal(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("page saved from front matter: %+v", p)
		}
		r = c.get(alpha + "/pages/edit?path=%2Fnews%2Fpasted%2F")
		wantBody(t, "edit form", r, `id="date"`, `value="2024-05-01T00:00"`)

		bad := c.post(alpha+"/pages", url.Values{"path": {"/news/bad-fm/"}, "title": {"T"}, "body": {"---\ndraft: perhaps\n---\nx"}})
		wantStatus(t, "bad front matter", bad, http.StatusBadRequest)
		wantBody(t, "bad front matter", bad, "draft must be true or false")
	})

	t.Run("Date", func(t *testing.T) {
		form := url.Values{"path": {"/news/dated/"}, "title": {"Dated"}, "body": {"b"}, "date": {"2023-02-03T04:05"}}
		wantStatus(t, "create with date", c.post(alpha+"/pages", form), http.StatusSeeOther)
		p, err := u.store.Page(ctx, sample.AlphaHost, "/news/dated/")
		if err != nil || !p.Created.Equal(time.Date(2023, 2, 3, 4, 5, 0, 0, time.UTC)) {
			t.Fatalf("page with a date: %+v, %v", p, err)
		}
		form.Set("orig", "/news/dated/")
		form.Set("date", "2021-12-31T23:59")
		wantStatus(t, "change the date", c.post(alpha+"/pages", form), http.StatusSeeOther)
		if p, _ = u.store.Page(ctx, sample.AlphaHost, "/news/dated/"); !p.Created.Equal(time.Date(2021, 12, 31, 23, 59, 0, 0, time.UTC)) {
			t.Errorf("after changing the date: Created %v", p.Created)
		}
		form.Set("date", "yesterday")
		r := c.post(alpha+"/pages", form)
		wantStatus(t, "bad date", r, http.StatusBadRequest)
		wantBody(t, "bad date", r, "is not a date")
	})

	t.Run("Preview", func(t *testing.T) {
		wantStatus(t, "draft", c.post(alpha+"/pages", url.Values{"path": {"/news/draft-x/"}, "title": {"Draft X"}, "body": {"Secret **draft** text"}}), http.StatusSeeOther)
		r := c.get(alpha + "/preview?path=%2Fnews%2Fdraft-x%2F")
		wantStatus(t, "preview stored draft", r, 200)
		wantBody(t, "preview stored draft", r, "<strong>draft</strong>", "Draft X")
		if i, j := strings.Index(r.body, "<style>"), strings.Index(r.body, "</head>"); i < 0 || j < i || !strings.Contains(r.body[i:j], "--") {
			t.Errorf("preview lacks the site's style sheet inline before </head>")
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox") {
			t.Errorf("preview CSP = %q, want sandbox", csp)
		}
		r = c.post(alpha+"/preview", url.Values{"orig": {"/news/draft-x/"}, "path": {"/news/draft-x/"}, "title": {"Unsaved title"}, "body": {"Unsaved _edit_"}})
		wantStatus(t, "preview form", r, 200)
		wantBody(t, "preview form", r, "Unsaved title", "<em>edit</em>")
		if p, _ := u.store.Page(ctx, sample.AlphaHost, "/news/draft-x/"); p.Title != "Draft X" {
			t.Error("preview saved the page")
		}
		r = c.post(alpha+"/preview", url.Values{"path": {"bad"}, "title": {"T"}})
		wantStatus(t, "preview invalid", r, http.StatusBadRequest)
	})

	// A previewed page's links to its own site lead to the previews of
	// those paths (served by the admin, "/news/" is not the site's).
	t.Run("PreviewLinks", func(t *testing.T) {
		r := c.get(alpha + "/preview?path=%2Fabout%2F")
		wantStatus(t, "preview", r, 200)
		if strings.Contains(r.body, `href="/news/"`) || strings.Contains(r.body, `href="/"`) {
			t.Errorf("preview keeps links to the admin's own paths:\n%s", r.body)
		}
		wantBody(t, "preview", r, `href="/sites/`+sample.AlphaHost+`/preview?path=%2Fnews%2F"`)
		wantStatus(t, "listing preview", c.get(alpha+"/preview?path=%2Fnews%2F"), 200)
		wantStatus(t, "start page preview", c.get(alpha+"/preview?path=%2F"), 200)
		r = c.get(alpha + "/preview?path=%2Ffeed.xml")
		wantStatus(t, "feed preview", r, 200)
		if ct := r.header.Get("Content-Type"); !strings.Contains(ct, "xml") {
			t.Errorf("feed preview Content-Type %q", ct)
		}
		for _, p := range []string{"%2Fnope%2F", "%2Fnope.css", "nope", "%2F..%2Fetc%2F"} {
			wantStatus(t, "preview of "+p, c.get(alpha+"/preview?path="+p), 404)
		}
	})
}

func TestCategories(t *testing.T) {
	u := newUI(t, admin.Options{})
	c := u.client()
	c.login("", rootName, rootPass)
	ctx := context.Background()
	wantStatus(t, "create", c.post(alpha+"/categories", url.Values{"path": {"/empty/"}, "title": {"Empty"}}), http.StatusSeeOther)
	r := c.post(alpha+"/categories", url.Values{"path": {"/empty/"}, "title": {"Again"}})
	wantStatus(t, "create twice", r, http.StatusBadRequest)
	wantBody(t, "create twice", r, "already exists", `value="Again"`)
	wantStatus(t, "missing parent", c.post(alpha+"/categories", url.Values{"path": {"/no/child/"}, "title": {"C"}}), http.StatusBadRequest)
	wantStatus(t, "rename", c.post(alpha+"/categories", url.Values{"orig": {"/empty/"}, "path": {"/ignored/"}, "title": {"Renamed"}, "sort": {"3"}}), http.StatusSeeOther)
	if cat, err := u.store.Category(ctx, sample.AlphaHost, "/empty/"); err != nil || cat.Title != "Renamed" || cat.Sort != 3 {
		t.Fatalf("renamed category: %+v, %v", cat, err)
	}
	t.Run("MoveWithPagesRefused", func(t *testing.T) {
		r := c.post(alpha+"/categories/move", url.Values{"from": {"/news/"}, "to": {"/blog/"}})
		wantStatus(t, "move /news/", r, http.StatusBadRequest)
		wantBody(t, "move /news/", r, "move or delete them first", `value="/blog/"`)
		if _, err := u.store.Category(ctx, sample.AlphaHost, "/news/"); err != nil {
			t.Fatal(err)
		}
		r = c.post(alpha+"/categories/delete", url.Values{"path": {"/news/"}})
		wantStatus(t, "delete /news/", r, http.StatusConflict)
	})
	t.Run("MoveEmpty", func(t *testing.T) {
		wantStatus(t, "move", c.post(alpha+"/categories/move", url.Values{"from": {"/empty/"}, "to": {"/moved/"}}), http.StatusSeeOther)
		if cat, err := u.store.Category(ctx, sample.AlphaHost, "/moved/"); err != nil || cat.Title != "Renamed" {
			t.Fatalf("moved: %+v, %v", cat, err)
		}
		if _, err := u.store.Category(ctx, sample.AlphaHost, "/empty/"); orchard.ErrorCode(err) != orchard.ENOTFOUND {
			t.Fatalf("old category still there: %v", err)
		}
		wantStatus(t, "move into itself", c.post(alpha+"/categories/move", url.Values{"from": {"/moved/"}, "to": {"/moved/x/"}}), http.StatusBadRequest)
		wantStatus(t, "delete", c.post(alpha+"/categories/delete", url.Values{"path": {"/moved/"}}), http.StatusSeeOther)
	})
}

func TestTemplates(t *testing.T) {
	u := newUI(t, admin.Options{})
	c := u.client()
	c.login(sample.AlphaHost, siteName, sitePass)
	ctx := context.Background()
	old, err := u.store.Template(ctx, sample.AlphaHost, "layouts/page.html")
	if err != nil {
		t.Fatal(err)
	}
	bad := "<main>\n<h1>{{.Title}}</h1>\n{{if .Page}}\n</main>\n"
	r := c.post(alpha+"/templates", url.Values{"orig": {"layouts/page.html"}, "name": {"layouts/page.html"}, "body": {bad}})
	wantStatus(t, "unparsable template", r, http.StatusBadRequest)
	wantBody(t, "unparsable template", r, "layouts/page.html:5:", html.EscapeString("{{if .Page}}"))
	if now, _ := u.store.Template(ctx, sample.AlphaHost, "layouts/page.html"); now.Body != old.Body {
		t.Fatal("the unparsable template replaced the old one")
	}
	good := strings.Replace(old.Body, "</main>", "<p>edited-marker</p></main>", 1)
	wantStatus(t, "good template", c.post(alpha+"/templates", url.Values{"name": {"layouts/page.html"}, "body": {good}}), http.StatusSeeOther)
	if now, _ := u.store.Template(ctx, sample.AlphaHost, "layouts/page.html"); now.Body != good {
		t.Fatal("template not saved")
	}
	wantStatus(t, "bad name", c.post(alpha+"/templates", url.Values{"name": {"../x.html"}, "body": {"x"}}), http.StatusBadRequest)
	wantStatus(t, "revert", c.post(alpha+"/templates", url.Values{"name": {"layouts/page.html"}, "action": {"revert"}}), http.StatusSeeOther)
	wantBody(t, "list", c.get(alpha+"/templates"), "layouts/page.html")
}

// upload posts a multipart form with one file.
func (c *client) upload(path, name string, data []byte, fields url.Values) response {
	c.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("csrf", c.csrf)
	for k, v := range fields {
		w.WriteField(k, v[0])
	}
	fw, _ := w.CreateFormFile("file", name)
	fw.Write(data)
	w.Close()
	req, _ := http.NewRequest("POST", c.ui.srv.URL+path, &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.do(req)
}

func TestAssets(t *testing.T) {
	u := newUI(t, admin.Options{})
	c := u.client()
	c.login(sample.AlphaHost, siteName, sitePass)
	ctx := context.Background()
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)
	ico := append([]byte("\x00\x00\x01\x00\x01\x00"), make([]byte, 64)...)
	woff := append([]byte("wOFF"), make([]byte, 64)...)
	woff2 := append([]byte("wOF2"), make([]byte, 64)...)
	html := []byte("<html><script>alert(document.cookie)</script></html>")
	tests := []struct {
		name   string
		file   string
		data   []byte
		path   string
		status int
		stored string
	}{
		{"PNG", "Logo.PNG", png, "/files/", http.StatusSeeOther, "/files/logo.png"},
		{"PNGAtPath", "x.png", png, "/theme/img/logo.png", http.StatusSeeOther, "/theme/img/logo.png"},
		{"Exe", "tool.exe", []byte("MZ..."), "/files/", http.StatusBadRequest, ""},
		{"FakePNG", "fake.png", []byte("<script>alert(1)</script>"), "/files/", http.StatusBadRequest, ""},
		{"ICO", "favicon.ico", ico, "/files/", http.StatusSeeOther, "/files/favicon.ico"},
		{"WOFF", "font.woff", woff, "/theme/", http.StatusSeeOther, "/theme/font.woff"},
		{"WOFF2", "font.woff2", woff2, "/theme/", http.StatusSeeOther, "/theme/font.woff2"},
		{"FakeICO", "fake.ico", html, "/files/", http.StatusBadRequest, ""},
		{"FakeWOFF", "fake.woff", html, "/files/", http.StatusBadRequest, ""},
		{"FakeWOFF2", "fake.woff2", html, "/files/", http.StatusBadRequest, ""},
		{"WOFFAsWOFF2", "swapped.woff2", woff, "/files/", http.StatusBadRequest, ""},
		{"Traversal", "../../etc/passwd.txt", []byte("x"), "/files/", http.StatusSeeOther, "/files/passwd.txt"},
		{"BadPath", "a.css", []byte("x"), "/files/../a.css", http.StatusBadRequest, ""},
		{"Reserved", "index.html", []byte("x"), "/index.html", http.StatusBadRequest, ""},
		{"TooLarge", "big.txt", make([]byte, orchard.MaxAssetLen+1), "/files/", http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.upload(alpha+"/assets", tt.file, tt.data, url.Values{"path": {tt.path}})
			if r.status != tt.status {
				t.Fatalf("status %d, want %d\n%.1500s", r.status, tt.status, r.body)
			}
			if tt.stored != "" {
				if _, err := u.store.Asset(ctx, sample.AlphaHost, tt.stored); err != nil {
					t.Fatalf("asset %s: %v", tt.stored, err)
				}
			}
		})
	}
	t.Run("EditTheme", func(t *testing.T) {
		r := c.get(alpha + "/assets/edit?path=%2Ftheme%2Fstyle.css")
		wantStatus(t, "edit css", r, 200)
		wantStatus(t, "save css", c.post(alpha+"/assets/edit", url.Values{"path": {"/theme/style.css"}, "body": {"body{color:red}"}}), http.StatusSeeOther)
		a, err := u.store.Asset(ctx, sample.AlphaHost, "/theme/style.css")
		if err != nil || string(a.Data) != "body{color:red}" {
			t.Fatalf("css: %v", err)
		}
		wantStatus(t, "edit png as text", c.post(alpha+"/assets/edit", url.Values{"path": {"/files/logo.png"}, "body": {"x"}}), http.StatusBadRequest)
	})
	// Deleting asks first: the list's button shows a confirmation.
	r := c.post(alpha+"/assets/delete", url.Values{"path": {"/theme/style.css"}})
	wantStatus(t, "delete without confirmation", r, http.StatusOK)
	wantBody(t, "delete without confirmation", r, `name="confirm" value="yes"`, "unstyled")
	if _, err := u.store.Asset(ctx, sample.AlphaHost, "/theme/style.css"); err != nil {
		t.Fatalf("an unconfirmed delete removed the style sheet: %v", err)
	}
	wantStatus(t, "confirm a missing file", c.post(alpha+"/assets/delete", url.Values{"path": {"/nope.css"}}), http.StatusNotFound)
	wantStatus(t, "delete", c.post(alpha+"/assets/delete", url.Values{"path": {"/files/logo.png"}, "confirm": {"yes"}}), http.StatusSeeOther)
	if _, err := u.store.Asset(ctx, sample.AlphaHost, "/files/logo.png"); orchard.ErrorCode(err) != orchard.ENOTFOUND {
		t.Fatalf("deleted asset: %v", err)
	}
}

func TestSites(t *testing.T) {
	u := newUI(t, admin.Options{})
	c := u.client()
	c.login("", rootName, rootPass)
	ctx := context.Background()
	tests := []struct {
		name, host, aliases string
		status              int
		msg                 string
	}{
		{"BadHost", "bad_host!", "", http.StatusBadRequest, "invalid"},
		{"Empty", "", "", http.StatusBadRequest, "Host name is required."},
		{"BadAlias", "ok.test", "www.ok.test, -bad-", http.StatusBadRequest, "Alias"},
		{"Taken", sample.AlphaHost, "", http.StatusBadRequest, "already taken"},
		{"OK", "New.Test.", "www.new.test", http.StatusSeeOther, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.post("/sites", url.Values{"host": {tt.host}, "aliases": {tt.aliases}, "title": {"My title"}})
			wantStatus(t, "create", r, tt.status)
			if tt.msg != "" {
				wantBody(t, "create", r, tt.msg, `value="My title"`)
			}
		})
	}
	s, err := u.store.Site(ctx, "new.test")
	if err != nil || len(s.Aliases) != 1 || s.Aliases[0] != "www.new.test" {
		t.Fatalf("created site %+v, %v", s, err)
	}
	if ts, _ := u.store.Templates(ctx, "new.test"); len(ts) == 0 {
		t.Error("new site has no templates")
	}
	wantStatus(t, "delete form", c.get("/sites/new.test/delete"), 200)
	r := c.post("/sites/new.test/delete", url.Values{"confirm": {"new"}})
	wantStatus(t, "delete unconfirmed", r, http.StatusBadRequest)
	if _, err := u.store.Site(ctx, "new.test"); err != nil {
		t.Fatal("site deleted without confirmation")
	}
	wantStatus(t, "delete", c.post("/sites/new.test/delete", url.Values{"confirm": {"new.test"}}), http.StatusSeeOther)
	if _, err := u.store.Site(ctx, "new.test"); orchard.ErrorCode(err) != orchard.ENOTFOUND {
		t.Fatalf("site after delete: %v", err)
	}
}

// FuzzPageForm posts arbitrary page forms: the answer is a redirect (saved)
// or a 400 with the form again, never a server error, and whatever was
// saved passes Validate.
func FuzzPageForm(f *testing.F) {
	f.Add("/fuzz/", "Title", "body", "markdown", "")
	f.Add("/news/x", "T", "<script>x</script>", "html", "post")
	f.Add("/../etc/", "T", "", "", "")
	f.Add("/a b/", "", "", "pdf", "../x")
	f.Add("/news/\x00/", "\xff", "{{.}}", "markdown", "home")
	u := newUI(f, admin.Options{})
	c := u.clientFor(f)
	c.login("", rootName, rootPass)
	f.Fuzz(func(t *testing.T, path, title, body, format, layout string) {
		c.t = t
		defer func() { c.t = f }()
		r := c.post(alpha+"/pages", url.Values{"path": {path}, "title": {title}, "body": {body}, "format": {format}, "layout": {layout}})
		switch r.status {
		case http.StatusSeeOther:
			loc := r.header.Get("Location")
			p, err := url.Parse(loc)
			if err != nil {
				t.Fatalf("Location %q: %v", loc, err)
			}
			pg, err := u.store.Page(context.Background(), sample.AlphaHost, p.Query().Get("path"))
			if err != nil {
				t.Fatalf("saved page %q: %v", p.Query().Get("path"), err)
			}
			if err := pg.Validate(); err != nil {
				t.Fatalf("saved page fails Validate: %v", err)
			}
		case http.StatusBadRequest:
			if !strings.Contains(r.body, "field-error") && !strings.Contains(r.body, `class="error"`) {
				t.Fatalf("400 without a message:\n%s", r.body)
			}
		default:
			t.Fatalf("status %d\n%.500s", r.status, r.body)
		}
	})
}

// TestEveryPage loads every page of the UI as a cluster admin.
func TestEveryPage(t *testing.T) {
	u := newUI(t, admin.Options{})
	c := u.client()
	c.login("", rootName, rootPass)
	for _, p := range []string{"/", "/sites/new", "/nodes", alpha + "/", alpha + "/delete", alpha + "/pages", alpha + "/pages/edit",
		alpha + "/pages/edit?category=%2Fnews%2F", alpha + "/pages/edit?path=%2Fabout%2F", alpha + "/categories",
		alpha + "/categories?path=%2Fnews%2F", alpha + "/assets", alpha + "/assets/edit", alpha + "/templates",
		alpha + "/templates/edit", alpha + "/templates/edit?name=partials%2Fnavbar.html", alpha + "/releases", "/static/admin.css"} {
		r := c.get(p)
		wantStatus(t, p, r, 200)
	}
	for _, p := range []string{alpha + "/pages/edit?path=%2Fnope%2F", alpha + "/categories?path=%2Fnope%2F", alpha + "/templates/edit?name=layouts%2Fnope.html",
		alpha + "/assets/edit?path=%2Fnope.css", "/sites/nope.test/", "/jobs/1-nope", "/nope"} {
		if r := c.get(p); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, r.status)
		}
	}
}
