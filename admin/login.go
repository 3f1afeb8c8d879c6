package admin

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/auth"
)

// loginForm shows the login form with a fresh pre-login token.
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	if s := h.current(r); s != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	f := newForm()
	f.Values["token"] = h.loginToken(w, r)
	h.page(w, r, http.StatusOK, "login", &view{Title: "Log in", Form: f})
}

// loginToken returns the pre-login CSRF token, setting its cookie if the
// request has none.
func (h *Handler) loginToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) == 64 {
		return c.Value
	}
	t := randomToken()
	h.setCookie(w, loginCookie, t, 3600)
	return t
}

// dummyHash is checked when the user does not exist, so a wrong user name
// takes as long as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	s, _ := auth.HashPassword(randomToken())
	return s
})

// clientIP is the address a request came from (the admin listener is on
// the LAN and trusts no forwarding header).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// login checks the pre-login token, the throttle and the password, then
// starts a session.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read.", http.StatusBadRequest)
		return
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || !tokenEqual(c.Value, r.PostFormValue("token")) {
		http.Error(w, "Forbidden: the form's security token is missing or wrong. Reload the login page and try again.", http.StatusForbidden)
		return
	}
	f := fromRequest(r, "site", "name", "token")
	site := strings.TrimSpace(f.Values["site"])
	name := strings.TrimSpace(f.Values["name"])
	pw := r.PostFormValue("password")
	if site != "" {
		host, err := orchard.NormalizeHost(site)
		if err != nil {
			f.set("site", err)
		}
		site = host
	}
	if name == "" {
		f.Errors["name"] = "User name is required."
	}
	if pw == "" {
		f.Errors["password"] = "Password is required."
	}
	if !f.ok() {
		h.page(w, r, http.StatusBadRequest, "login", &view{Title: "Log in", Form: f})
		return
	}
	userKey, addrKey := "user:"+site+"/"+name, "addr:"+clientIP(r)
	if wait := h.throttle.blocked(userKey, addrKey); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		f.Error = "Too many failed logins. Try again in " + (time.Duration(secs) * time.Second).String() + "."
		h.log.Warn("login throttled", "user", name, "site", site, "addr", clientIP(r))
		h.page(w, r, http.StatusTooManyRequests, "login", &view{Title: "Log in", Form: f})
		return
	}
	u, err := h.opt.Store.User(r.Context(), site, name)
	hash := dummyHash()
	if err == nil {
		hash = u.PasswordHash
	} else if orchard.ErrorCode(err) != orchard.ENOTFOUND {
		h.fail(w, r, nil, err)
		return
	}
	ok, cerr := auth.CheckPassword(hash, pw)
	if err != nil || cerr != nil || !ok {
		h.throttle.fail(userKey, addrKey)
		h.log.Warn("login failed", "user", name, "site", site, "addr", clientIP(r))
		f.Error = "Wrong site, user name or password."
		h.page(w, r, http.StatusUnauthorized, "login", &view{Title: "Log in", Form: f})
		return
	}
	h.throttle.reset(userKey)
	s := h.sessions.create(*u)
	h.setCookie(w, sessionCookie, s.id, 0)
	h.setCookie(w, loginCookie, "", -1)
	h.log.Info("login", "user", name, "site", site, "addr", clientIP(r))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the session.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request, s *session) {
	h.sessions.delete(s.id)
	h.setCookie(w, sessionCookie, "", -1)
	back(w, r, "/login", "loggedout")
}

// home lists the sites of a cluster admin, or sends a site admin to their site.
func (h *Handler) home(w http.ResponseWriter, r *http.Request, s *session) {
	if !s.cluster() {
		http.Redirect(w, r, "/sites/"+s.user.Site+"/", http.StatusSeeOther)
		return
	}
	sites, err := h.opt.Store.Sites(r.Context())
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	h.page(w, r, http.StatusOK, "sites", &view{Title: "Sites", S: s, Nav: "sites", Data: sites})
}
