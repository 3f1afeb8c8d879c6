package admin

import (
	"net/http"
	"slices"
	"strings"

	orchard "github.com/orchardhq/orchard"
)

// redirects lists the site's redirects with a form to add (or replace)
// one; they are saved with the site's settings and served from the next
// release built.
func (h *Handler) redirects(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	h.showRedirects(w, r, s, site, http.StatusOK, newForm())
}

func (h *Handler) showRedirects(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site, status int, f *form) {
	h.page(w, r, status, "redirects", &view{Title: "Redirects", S: s, Site: site, Nav: "redirects", Form: f, Data: site.Redirects})
}

// saveRedirect adds the redirect from the form, replacing one from the
// same path.
func (h *Handler) saveRedirect(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	f := fromRequest(r, "from", "to")
	rd := orchard.Redirect{From: strings.TrimSpace(f.Values["from"]), To: strings.TrimSpace(f.Values["to"])}
	if err := rd.Validate(); err != nil {
		f.Error = orchard.ErrorMessage(err)
		h.showRedirects(w, r, s, site, http.StatusBadRequest, f)
		return
	}
	up := *site
	up.Redirects = append(slices.DeleteFunc(slices.Clone(site.Redirects), func(x orchard.Redirect) bool { return x.From == rd.From }), rd)
	h.updateRedirects(w, r, s, site, &up, f, "saved")
}

// deleteRedirect removes the redirect from the path in the form.
func (h *Handler) deleteRedirect(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	f := fromRequest(r, "from")
	up := *site
	up.Redirects = slices.DeleteFunc(slices.Clone(site.Redirects), func(x orchard.Redirect) bool { return x.From == f.Values["from"] })
	if len(up.Redirects) == len(site.Redirects) {
		h.fail(w, r, s, orchard.Errorf(orchard.ENOTFOUND, "No redirect from %q.", f.Values["from"]))
		return
	}
	h.updateRedirects(w, r, s, site, &up, newForm(), "deleted")
}

// updateRedirects saves up (site with other redirects) and goes back to
// the list.
func (h *Handler) updateRedirects(w http.ResponseWriter, r *http.Request, s *session, site, up *orchard.Site, f *form, flash string) {
	err := h.opt.Store.UpdateSite(r.Context(), up)
	switch orchard.ErrorCode(err) {
	case "":
		back(w, r, "/sites/"+site.Host+"/redirects", flash)
	case orchard.EINVALID:
		f.Error = orchard.ErrorMessage(err)
		h.showRedirects(w, r, s, site, http.StatusBadRequest, f)
	default:
		h.fail(w, r, s, err)
	}
}
