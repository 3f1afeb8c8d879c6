package admin

import (
	"net/http"
	"sort"
	"strings"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/render"
)

// templateRow is one template in the list.
type templateRow struct {
	Name string
	Own  bool // the site has its own version (else the default is used)
}

// templates lists the site's templates and the defaults it uses.
func (h *Handler) templates(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	own, err := h.opt.Store.Templates(r.Context(), site.Host)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	rows := map[string]bool{}
	for _, t := range render.DefaultTemplates() {
		rows[t.Name] = false
	}
	for _, t := range own {
		rows[t.Name] = true
	}
	list := make([]templateRow, 0, len(rows))
	for n, o := range rows {
		list = append(list, templateRow{n, o})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	h.page(w, r, http.StatusOK, "templates", &view{Title: "Templates", S: s, Site: site, Nav: "templates", Data: list})
}

// editTemplate shows a template (the site's, else the default) in a form;
// without ?name= it makes a new one.
func (h *Handler) editTemplate(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	name := r.URL.Query().Get("name")
	f := newForm()
	if name != "" {
		t, err := h.opt.Store.Template(r.Context(), site.Host, name)
		if orchard.ErrorCode(err) == orchard.ENOTFOUND {
			for _, d := range render.DefaultTemplates() {
				if d.Name == name {
					t, err = &d, nil
				}
			}
		}
		if err != nil {
			h.fail(w, r, s, err)
			return
		}
		f.Values = map[string]string{"orig": t.Name, "name": t.Name, "body": t.Body}
	} else {
		f.Values["name"] = "partials/"
	}
	h.page(w, r, http.StatusOK, "template", &view{Title: "Template", S: s, Site: site, Nav: "templates", Form: f})
}

// saveTemplate saves a template that parses with the site's others, or
// reverts it to the default (action=revert). A template that does not
// parse is refused with its line; the stored one is kept.
func (h *Handler) saveTemplate(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	ctx := r.Context()
	f := fromRequest(r, "orig", "name", "body")
	t := &orchard.Template{Name: strings.TrimSpace(f.Values["name"]), Body: strings.ReplaceAll(f.Values["body"], "\r\n", "\n")}
	if r.PostFormValue("action") == "revert" {
		err := h.opt.Store.DeleteTemplate(ctx, site.Host, t.Name)
		if err != nil && orchard.ErrorCode(err) != orchard.ENOTFOUND {
			h.fail(w, r, s, err)
			return
		}
		back(w, r, "/sites/"+site.Host+"/templates", "deleted")
		return
	}
	if err := t.Validate(); err != nil {
		f.set("name", err)
	} else {
		c, err := h.opt.Store.LoadSite(ctx, site.Host)
		if err != nil {
			h.fail(w, r, s, err)
			return
		}
		if err := render.ValidateTemplate(c, *t); err != nil {
			f.set("body", err)
		}
	}
	if f.ok() {
		if err := h.opt.Store.PutTemplate(ctx, site.Host, t); err != nil {
			h.fail(w, r, s, err)
			return
		}
		h.log.Info("template saved", "site", site.Host, "name", t.Name, "by", s.user.Name)
		back(w, r, "/sites/"+site.Host+"/templates/edit?name="+t.Name, "saved")
		return
	}
	h.page(w, r, http.StatusBadRequest, "template", &view{Title: "Template", S: s, Site: site, Nav: "templates", Form: f})
}
