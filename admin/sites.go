package admin

import (
	"net/http"
	"strings"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/render"
)

// newSiteForm shows the form to create a site.
func (h *Handler) newSiteForm(w http.ResponseWriter, r *http.Request, s *session) {
	h.page(w, r, http.StatusOK, "sitenew", &view{Title: "New site", S: s, Nav: "sites", Form: newForm()})
}

// splitList splits a list typed with commas, spaces or new lines.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// createSite registers a site with the default templates and theme, in one
// transaction.
func (h *Handler) createSite(w http.ResponseWriter, r *http.Request, s *session) {
	f := fromRequest(r, "host", "aliases", "title")
	site := &orchard.Site{Host: strings.TrimSpace(f.Values["host"]), Aliases: splitList(f.Values["aliases"]), Title: strings.TrimSpace(f.Values["title"])}
	if site.Host == "" {
		f.Errors["host"] = "Host name is required."
	} else if _, err := orchard.NormalizeHost(site.Host); err != nil {
		f.set("host", err)
	}
	if f.ok() {
		if err := site.Validate(); err != nil {
			field := ""
			if strings.HasPrefix(orchard.ErrorMessage(err), "Alias") {
				field = "aliases"
			}
			f.set(field, err)
		}
	}
	if f.ok() {
		if site.Title == "" {
			site.Title = site.Host
		}
		c := &orchard.SiteContent{Site: *site, Templates: render.DefaultTemplates(), Assets: render.DefaultTheme()}
		err := h.opt.Store.ReplaceSite(r.Context(), c, false)
		switch orchard.ErrorCode(err) {
		case "":
			h.log.Info("site created", "site", site.Host, "by", s.user.Name)
			back(w, r, "/sites/"+site.Host+"/", "created")
			return
		case orchard.ECONFLICT:
			f.Errors["host"] = "This host name or one of the aliases is already taken."
		case orchard.EINVALID:
			f.set("", err)
		default:
			h.fail(w, r, s, err)
			return
		}
	}
	h.page(w, r, http.StatusBadRequest, "sitenew", &view{Title: "New site", S: s, Nav: "sites", Form: f})
}

// deleteSiteForm asks for the host name to be typed again.
func (h *Handler) deleteSiteForm(w http.ResponseWriter, r *http.Request, s *session) {
	site, err := h.opt.Store.Site(r.Context(), r.PathValue("host"))
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	h.page(w, r, http.StatusOK, "sitedelete", &view{Title: "Delete " + site.Host, S: s, Site: site, Form: newForm()})
}

// deleteSite drops a site once its host name was typed as confirmation.
func (h *Handler) deleteSite(w http.ResponseWriter, r *http.Request, s *session) {
	site, err := h.opt.Store.Site(r.Context(), r.PathValue("host"))
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	f := fromRequest(r, "confirm")
	if strings.TrimSpace(f.Values["confirm"]) != site.Host {
		f.Errors["confirm"] = "Type the host name exactly to confirm."
		h.page(w, r, http.StatusBadRequest, "sitedelete", &view{Title: "Delete " + site.Host, S: s, Site: site, Form: f})
		return
	}
	if err := h.opt.Store.DropSite(r.Context(), site.Host); err != nil {
		h.fail(w, r, s, err)
		return
	}
	h.sessions.dropSite(site.Host)
	h.log.Info("site deleted", "site", site.Host, "by", s.user.Name)
	back(w, r, "/", "deleted")
}

// nodes shows the state of every node.
func (h *Handler) nodes(w http.ResponseWriter, r *http.Request, s *session) {
	var nodes []NodeInfo
	if h.opt.Publisher != nil {
		nodes = h.opt.Publisher.Nodes(r.Context())
	}
	h.page(w, r, http.StatusOK, "nodes", &view{Title: "Nodes", S: s, Nav: "nodes", Data: nodes})
}
