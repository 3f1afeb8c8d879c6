package admin

import (
	"bytes"
	"html"
	"mime"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/render"
)

// pagesList lists a site's pages.
func (h *Handler) pagesList(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	pages, err := h.opt.Store.Pages(r.Context(), site.Host, orchard.PageFilter{})
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	h.page(w, r, http.StatusOK, "pages", &view{Title: "Pages", S: s, Site: site, Nav: "pages", Data: pages})
}

// pageFields are the fields of the page form.
var pageFields = []string{"orig", "path", "title", "layout", "format", "body", "description", "published", "date"}

// formDate is how the form's date field (a datetime-local input) shows a
// page's date, in UTC.
const formDate = "2006-01-02T15:04"

// pageEditData is what the page form needs besides the typed values.
type pageEditData struct {
	Layouts    []string
	Categories []*orchard.Category
	New        bool
}

// editPage shows the page form: ?path= edits a page, else a new one (with
// ?category= to start its path there).
func (h *Handler) editPage(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	f := newForm()
	if p := r.URL.Query().Get("path"); p != "" {
		pg, err := h.opt.Store.Page(r.Context(), site.Host, p)
		if err != nil {
			h.fail(w, r, s, err)
			return
		}
		f.Values = pageValues(pg)
		f.Values["orig"] = pg.Path
	} else {
		cat := r.URL.Query().Get("category")
		if orchard.ValidateContentPath(cat, true) != nil {
			cat = "/"
		}
		f.Values = map[string]string{"path": cat, "format": orchard.FormatMarkdown}
	}
	h.showPage(w, r, s, site, http.StatusOK, f)
}

func pageValues(p *orchard.Page) map[string]string {
	v := map[string]string{"path": p.Path, "title": p.Title, "layout": p.Layout, "format": p.Format, "body": p.Body,
		"description": p.Description, "date": p.Created.UTC().Format(formDate)}
	if p.Published {
		v["published"] = "on"
	}
	return v
}

func (h *Handler) showPage(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site, status int, f *form) {
	cats, err := h.opt.Store.Categories(r.Context(), site.Host)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	layouts, err := h.layouts(r, site.Host)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	title := "Edit page"
	if f.Values["orig"] == "" {
		title = "New page"
	}
	h.page(w, r, status, "page", &view{Title: title, S: s, Site: site, Nav: "pages", Form: f,
		Data: pageEditData{Layouts: layouts, Categories: cats, New: f.Values["orig"] == ""}})
}

// layouts lists the layout names a page may use: the defaults and the
// site's own.
func (h *Handler) layouts(r *http.Request, host string) ([]string, error) {
	seen := map[string]bool{}
	for _, t := range render.DefaultTemplates() {
		if n, ok := strings.CutPrefix(t.Name, "layouts/"); ok {
			seen[strings.TrimSuffix(n, ".html")] = true
		}
	}
	ts, err := h.opt.Store.Templates(r.Context(), host)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if n, ok := strings.CutPrefix(t.Name, "layouts/"); ok {
			seen[strings.TrimSuffix(n, ".html")] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		if n != orchard.Layout404 && n != orchard.LayoutCategory && n != orchard.LayoutHome {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// frontMatterToForm moves front matter at the top of the body (a pasted
// Hugo or Jekyll file) into the form's fields, where it wins over what the
// fields held, and takes it out of the body. The category is not taken:
// here a page's category is the directory of its path.
func frontMatterToForm(f *form) {
	fm, rest, found, err := render.SplitFrontMatter(f.Values["body"])
	if err != nil {
		f.Errors["body"] = orchard.ErrorMessage(err)
		return
	}
	if !found {
		return
	}
	f.Values["body"] = rest
	for name, v := range map[string]string{"title": fm.Title, "description": fm.Description, "path": fm.Path, "layout": fm.Layout} {
		if v != "" {
			f.Values[name] = v
		}
	}
	if !fm.Date.IsZero() {
		f.Values["date"] = fm.Date.UTC().Format(formDate)
	}
	if fm.Draft != nil {
		f.Values["published"] = map[bool]string{false: "on", true: ""}[*fm.Draft]
	}
}

// pageFromForm builds and validates a page from the form, putting messages
// next to fields. Its category is the directory that holds it. Front
// matter at the top of the body fills the fields first.
func pageFromForm(f *form) *orchard.Page {
	frontMatterToForm(f)
	p := &orchard.Page{
		Path:        strings.TrimSpace(f.Values["path"]),
		Title:       strings.TrimSpace(f.Values["title"]),
		Layout:      f.Values["layout"],
		Format:      f.Values["format"],
		Body:        strings.ReplaceAll(f.Values["body"], "\r\n", "\n"),
		Description: strings.TrimSpace(f.Values["description"]),
		Published:   f.Values["published"] == "on",
	}
	if p.Path != "" && !strings.HasSuffix(p.Path, "/") {
		p.Path += "/"
	}
	p.Category = orchard.ParentDir(p.Path)
	if d := strings.TrimSpace(f.Values["date"]); d != "" {
		t, err := render.ParseDate(d)
		if err != nil {
			f.Errors["date"] = orchard.ErrorMessage(err)
		}
		p.Created = t
	}
	if err := p.Validate(); err != nil {
		field := ""
		if strings.HasPrefix(orchard.ErrorMessage(err), "Category") {
			field = "path"
		}
		f.set(field, err)
	}
	return p
}

// savePage creates or saves a page; a changed path moves the page.
func (h *Handler) savePage(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	ctx := r.Context()
	f := fromRequest(r, pageFields...)
	p := pageFromForm(f)
	orig := f.Values["orig"]
	var old *orchard.Page
	if orig != "" {
		o, err := h.opt.Store.Page(ctx, site.Host, orig)
		if err != nil {
			h.fail(w, r, s, err)
			return
		}
		old = o
		// The field shows minutes: an unchanged field keeps the exact date.
		if f.Values["date"] == "" || f.Values["date"] == o.Created.UTC().Format(formDate) {
			p.Created = o.Created
		}
	}
	if f.ok() && p.Path != orig {
		if _, err := h.opt.Store.Page(ctx, site.Host, p.Path); err == nil {
			f.Errors["path"] = "A page with this path already exists."
		}
	}
	if f.ok() {
		err := h.opt.Store.PutPage(ctx, site.Host, p)
		switch orchard.ErrorCode(err) {
		case "":
			if old != nil && old.Path != p.Path {
				if err := h.opt.Store.DeletePage(ctx, site.Host, old.Path); err != nil {
					h.fail(w, r, s, err)
					return
				}
			}
			h.log.Info("page saved", "site", site.Host, "path", p.Path, "by", s.user.Name)
			back(w, r, "/sites/"+site.Host+"/pages/edit?path="+p.Path, "saved")
			return
		case orchard.ENOTFOUND:
			f.Errors["path"] = "Category " + p.Category + " does not exist: create it first, or choose another path."
		case orchard.EINVALID, orchard.ECONFLICT:
			f.set("", err)
		default:
			h.fail(w, r, s, err)
			return
		}
	}
	h.showPage(w, r, s, site, http.StatusBadRequest, f)
}

// deletePage deletes a page.
func (h *Handler) deletePage(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	if err := h.opt.Store.DeletePage(r.Context(), site.Host, r.PostFormValue("path")); err != nil {
		h.fail(w, r, s, err)
		return
	}
	back(w, r, "/sites/"+site.Host+"/pages", "deleted")
}

// previewStored renders a stored page (drafts too) as a release would.
func (h *Handler) previewStored(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	c, err := h.opt.Store.LoadSite(r.Context(), site.Host)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	p := r.URL.Query().Get("path")
	for i := range c.Pages {
		if c.Pages[i].Path == p {
			c.Pages[i].Published = true // drafts are previewed too
		}
	}
	// Any path the site serves (a listing, the start page) previews as
	// well: the links of a previewed page lead there.
	h.renderPreview(w, r, s, c, p)
}

// previewForm renders the page as typed in its form, without saving it.
func (h *Handler) previewForm(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	f := fromRequest(r, pageFields...)
	p := pageFromForm(f)
	if !f.ok() {
		h.showPage(w, r, s, site, http.StatusBadRequest, f)
		return
	}
	c, err := h.opt.Store.LoadSite(r.Context(), site.Host)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	p.Published = true
	pages := c.Pages[:0]
	for _, o := range c.Pages {
		if o.Path != p.Path && o.Path != f.Values["orig"] {
			pages = append(pages, o)
		} else if o.Path == f.Values["orig"] {
			p.Created, p.Updated = o.Created, o.Updated
		}
	}
	if p.Created.IsZero() {
		p.Created = h.opt.Now().UTC()
		p.Updated = p.Created
	}
	pages = append(pages, *p)
	sort.Slice(pages, func(i, j int) bool { return pages[i].Path < pages[j].Path })
	c.Pages = pages
	h.renderPreview(w, r, s, c, p.Path)
}

// renderPreview renders the page at path of c with package render and
// serves it sandboxed: no script of a template runs in the admin's origin.
func (h *Handler) renderPreview(w http.ResponseWriter, r *http.Request, s *session, c *orchard.SiteContent, path string) {
	rd, err := render.New(c)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	if !strings.HasPrefix(path, "/") {
		h.fail(w, r, s, orchard.Errorf(orchard.ENOTFOUND, "No page %q.", path))
		return
	}
	key := orchard.ManifestKey(path)
	b, err := rd.Render(key)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src * data:; style-src * 'unsafe-inline'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !strings.HasSuffix(key, ".html") {
		// A feed, the sitemap or an asset a page links to, as the site
		// serves it.
		ct := mime.TypeByExtension(filepath.Ext(key))
		if ct == "" {
			ct = "application/octet-stream"
		}
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write(b)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(previewLinks(inlineStyles(b, c.Assets), c.Site.Host))
}

// siteLinkRe finds the links of a rendered page to its own site's paths
// (not to other hosts, not protocol-relative).
var siteLinkRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(<a\s[^>]*?href=")(/(?:[^/"][^"]*)?)"`)
})

// previewLinks points a previewed page's links to its own site at the
// previews of those paths: served by the admin, "/news/" would be the
// admin's (a "not found"), not the site's.
func previewLinks(page []byte, host string) []byte {
	return siteLinkRe().ReplaceAllFunc(page, func(m []byte) []byte {
		sub := siteLinkRe().FindSubmatch(m)
		p, frag, _ := strings.Cut(html.UnescapeString(string(sub[2])), "#")
		p, _, _ = strings.Cut(p, "?")
		u := "/sites/" + host + "/preview?path=" + url.QueryEscape(p)
		if frag != "" {
			u += "#" + url.QueryEscape(frag)
		}
		return append(append(append([]byte{}, sub[1]...), html.EscapeString(u)...), '"')
	})
}

// stylesheetRe finds the site-relative style sheets a page links to.
var stylesheetRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`<link rel="stylesheet" href="(/[^"]+)"`)
})

// inlineStyles adds the site's own style sheets that page links to in a
// <style> element before </head>: the preview is served by the admin, where
// "/theme/style.css" is not the site's. The page itself is left as render
// made it.
func inlineStyles(page []byte, assets []orchard.Asset) []byte {
	head := bytes.Index(page, []byte("</head>"))
	if head < 0 {
		return page
	}
	var css bytes.Buffer
	for _, m := range stylesheetRe().FindAllSubmatch(page[:head], -1) {
		for _, a := range assets {
			if a.Path == string(m[1]) && strings.HasPrefix(a.ContentType, "text/css") {
				css.Write(bytes.ReplaceAll(a.Data, []byte("</"), []byte(`<\/`)))
				css.WriteByte('\n')
			}
		}
	}
	if css.Len() == 0 {
		return page
	}
	out := make([]byte, 0, len(page)+css.Len()+32)
	out = append(out, page[:head]...)
	out = append(out, "<style>\n"...)
	out = append(out, css.Bytes()...)
	out = append(out, "</style>\n"...)
	return append(out, page[head:]...)
}
