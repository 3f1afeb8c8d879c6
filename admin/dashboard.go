package admin

import (
	"html/template"
	"net/http"

	orchard "github.com/orchardhq/orchard"
)

// dashboardData is what the dashboard page shows.
type dashboardData struct {
	Style   template.CSS
	Body    template.HTML
	Refresh int
}

// dashboard shows the cluster dashboard in the admin's layout, with its
// navigation; the page reloads itself.
func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request, s *session) {
	style, body, refresh, err := h.opt.Dashboard.Content(r.URL.Query())
	if err != nil {
		h.fail(w, r, s, orchard.Errorf(orchard.EINVALID, "%s", err.Error()))
		return
	}
	// The graphs are inline SVG styled by a <style> element of the page.
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	w.Header().Set("Cache-Control", "no-store")
	h.page(w, r, http.StatusOK, "dashboard", &view{Title: "Dashboard", S: s, Nav: "dashboard", Data: dashboardData{style, body, refresh}})
}
