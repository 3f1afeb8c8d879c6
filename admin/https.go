package admin

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	orchard "github.com/orchardhq/orchard"
)

// https shows the site's HTTPS settings. A certificate of the site's own
// (files on the master) is shown but set with `orchard site https`: a
// browser form cannot name the master's files safely.
func (h *Handler) https(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	cur, err := h.opt.HTTPS.Get(site.Host)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	f := newForm()
	if !cur.Off {
		f.Values["auto"] = "on"
	}
	if cur.Redirect {
		f.Values["redirect"] = "on"
	}
	if cur.HSTSSeconds > 0 {
		f.Values["hsts"] = (time.Duration(cur.HSTSSeconds) * time.Second).String()
	}
	h.showHTTPS(w, r, s, site, http.StatusOK, f, cur)
}

func (h *Handler) showHTTPS(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site, status int, f *form, cur orchard.HTTPSSettings) {
	h.page(w, r, status, "https", &view{Title: "HTTPS", S: s, Site: site, Nav: "https", Form: f, Data: cur})
}

// saveHTTPS stores the form's settings; the master applies them at its
// next certificate check.
func (h *Handler) saveHTTPS(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	cur, err := h.opt.HTTPS.Get(site.Host)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	f := fromRequest(r, "auto", "redirect", "hsts")
	next := cur
	next.Off = f.Values["auto"] == ""
	next.Redirect = f.Values["redirect"] != ""
	next.HSTSSeconds, err = parseMaxAge(f.Values["hsts"])
	if err == nil {
		err = next.Validate()
	}
	if err != nil {
		f.Errors["hsts"] = orchard.ErrorMessage(err)
		f.Error = "The settings were not saved."
		h.showHTTPS(w, r, s, site, http.StatusBadRequest, f, cur)
		return
	}
	if err := h.opt.HTTPS.Set(site.Host, next); err != nil {
		h.fail(w, r, s, err)
		return
	}
	back(w, r, "/sites/"+site.Host+"/https", "saved")
}

// parseMaxAge reads an HSTS max-age as a duration ("8760h") or seconds
// ("31536000"); empty is none.
func parseMaxAge(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, orchard.Errorf(orchard.EINVALID, "HSTS max-age cannot be negative.")
		}
		return n, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d%time.Second != 0 {
		return 0, orchard.Errorf(orchard.EINVALID, "HSTS max-age is seconds (31536000) or a duration (8760h).")
	}
	return int64(d / time.Second), nil
}
