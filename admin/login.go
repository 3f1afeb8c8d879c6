package admin

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
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
	// The attempt is counted before the password is checked, so concurrent
	// guesses cannot all slip past the limit; it is taken back below when
	// it was not a failure.
	wait, at := h.throttle.reserve(userKey, addrKey)
	if wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		f.Error = "Too many failed logins. Try again in " + (time.Duration(secs) * time.Second).String() + "."
		h.log.Warn("login throttled", "user", name, "site", site, "addr", clientIP(r))
		h.page(w, r, http.StatusTooManyRequests, "login", &view{Title: "Log in", Form: f})
		return
	}
	u, err := h.opt.Store.User(r.Context(), site, name)
	if err != nil && orchard.ErrorCode(err) != orchard.ENOTFOUND {
		h.throttle.release(at, userKey, addrKey)
		h.fail(w, r, nil, err)
		return
	}
	if err != nil {
		u = nil
	}
	ok, err := h.checkPassword(r.Context(), u, pw)
	if errors.Is(err, errBusy) {
		h.throttle.release(at, userKey, addrKey)
		w.Header().Set("Retry-After", busyRetryAfter)
		h.log.Warn("login refused: password checks busy", "user", name, "site", site, "addr", clientIP(r))
		f.Error = "The server is busy checking other logins. Try again in a few seconds."
		h.page(w, r, http.StatusServiceUnavailable, "login", &view{Title: "Log in", Form: f})
		return
	}
	if err != nil || !ok {
		h.log.Warn("login failed", "user", name, "site", site, "addr", clientIP(r), "err", err)
		f.Error = "Wrong site, user name or password."
		h.page(w, r, http.StatusUnauthorized, "login", &view{Title: "Log in", Form: f})
		return
	}
	h.throttle.release(at, addrKey)
	h.throttle.reset(userKey)
	h.rehash(r.Context(), u, pw)
	s := h.sessions.create(*u)
	h.setCookie(w, sessionCookie, s.id, 0)
	h.setCookie(w, loginCookie, "", -1)
	h.log.Info("login", "user", name, "site", site, "addr", clientIP(r))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// errBusy is returned by checkPassword when no check slot came free in time.
var errBusy = errors.New("admin: password checks busy")

// busyRetryAfter is the Retry-After, in seconds, of a login refused because
// password checks were busy.
const busyRetryAfter = "2"

// acquireCheck takes a password check slot, waiting at most
// Options.CheckWait; it returns errBusy when none came free (or ctx ended).
// The caller calls releaseCheck after a nil error.
func (h *Handler) acquireCheck(ctx context.Context) error {
	select {
	case h.checks <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(h.opt.CheckWait)
	defer t.Stop()
	select {
	case h.checks <- struct{}{}:
		return nil
	case <-t.C:
		return errBusy
	case <-ctx.Done():
		return errBusy
	}
}

func (h *Handler) releaseCheck() { <-h.checks }

// checkPassword checks pw against u's hash (a dummy hash when u is nil)
// in one of the bounded check slots, so concurrent logins cost at most
// MaxPasswordChecks hashes' memory.
func (h *Handler) checkPassword(ctx context.Context, u *orchard.User, pw string) (bool, error) {
	if err := h.acquireCheck(ctx); err != nil {
		return false, err
	}
	defer h.releaseCheck()
	if u == nil {
		hash, err := h.dummy()
		if err != nil {
			return false, err
		}
		h.opt.CheckPassword(hash, pw)
		return false, nil
	}
	return h.opt.CheckPassword(u.PasswordHash, pw)
}

// rehash replaces u's password hash by one made with Options.PasswordParams
// when its parameters differ (an older default, or bcrypt), now that the
// password is known to be right. A failure is logged and the login goes
// on: the old hash still works and the next login tries again.
func (h *Handler) rehash(ctx context.Context, u *orchard.User, pw string) {
	if !auth.NeedsRehashParams(u.PasswordHash, h.opt.PasswordParams) {
		return
	}
	if err := h.acquireCheck(ctx); err != nil {
		return
	}
	hash, err := auth.HashPasswordParams(pw, h.opt.PasswordParams)
	h.releaseCheck()
	if err == nil {
		nu := *u
		nu.PasswordHash = hash
		if err = h.opt.Store.PutUser(ctx, &nu); err == nil {
			*u = nu
			h.log.Info("password rehashed", "user", u.Name, "site", u.Site)
			return
		}
	}
	h.log.Error("rehash password", "user", u.Name, "site", u.Site, "err", err)
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
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	h.page(w, r, http.StatusOK, "sites", &view{Title: "Sites", S: s, Nav: "sites", Data: pageOfSites(sites, r.URL.Query().Get("q"), page)})
}
