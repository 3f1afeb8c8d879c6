package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	orchard "github.com/orchardhq/orchard"
)

// Cookie names.
const (
	sessionCookie = "orchard_admin"
	loginCookie   = "orchard_login" // pre-login CSRF token
	maxSessions   = 10000
)

// session is one logged-in user.
type session struct {
	id      string
	csrf    string
	user    orchard.User // PasswordHash cleared
	expires time.Time
}

// cluster reports whether the session's user is a cluster admin.
func (s *session) cluster() bool { return s.user.Site == "" }

// may reports whether the session's user may edit host.
func (s *session) may(host string) bool { return s.user.Site == "" || s.user.Site == host }

// sessions is the in-memory session table.
type sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	now func() time.Time
	ttl time.Duration
}

func newSessions(now func() time.Time, ttl time.Duration) *sessions {
	return &sessions{m: map[string]*session{}, now: now, ttl: ttl}
}

// randomToken returns 32 random bytes in hex.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b[:])
}

// create starts a session for u, dropping expired ones (and the oldest when
// the table is full).
func (ss *sessions) create(u orchard.User) *session {
	u.PasswordHash = ""
	now := ss.now()
	s := &session{id: randomToken(), csrf: randomToken(), user: u, expires: now.Add(ss.ttl)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for id, o := range ss.m {
		if now.After(o.expires) {
			delete(ss.m, id)
		}
	}
	if len(ss.m) >= maxSessions {
		var oldest *session
		for _, o := range ss.m {
			if oldest == nil || o.expires.Before(oldest.expires) {
				oldest = o
			}
		}
		delete(ss.m, oldest.id)
	}
	ss.m[s.id] = s
	return s
}

// get returns the live session id names and extends it, or nil.
func (ss *sessions) get(id string) *session {
	if len(id) != 64 {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[id]
	if s == nil {
		return nil
	}
	now := ss.now()
	if now.After(s.expires) {
		delete(ss.m, id)
		return nil
	}
	s.expires = now.Add(ss.ttl)
	return s
}

func (ss *sessions) delete(id string) {
	ss.mu.Lock()
	delete(ss.m, id)
	ss.mu.Unlock()
}

// dropUser ends the sessions of users of site (all of them when name is "").
func (ss *sessions) dropSite(site string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for id, s := range ss.m {
		if s.user.Site == site {
			delete(ss.m, id)
		}
	}
}

// tokenEqual compares two tokens in constant time; empty never matches.
func tokenEqual(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (h *Handler) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: h.opt.Secure, SameSite: http.SameSiteStrictMode,
	})
}

// current returns the request's session, or nil.
func (h *Handler) current(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	return h.sessions.get(c.Value)
}

// maxFormBytes bounds every form but uploads.
const maxFormBytes = orchard.MaxBodyLen + 64<<10

// auth wraps a handler that needs a session: without one, GET redirects to
// the login page and anything else is 401; a POST must carry the session's
// CSRF token (403 otherwise).
func (h *Handler) auth(next func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := h.current(r)
		if s == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			http.Error(w, "Log in first.", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !h.checkCSRF(w, r, s) {
				return
			}
		}
		next(w, r, s)
	}
}

// checkCSRF parses the form (multipart for uploads) and checks its token.
func (h *Handler) checkCSRF(w http.ResponseWriter, r *http.Request, s *session) bool {
	limit := int64(maxFormBytes)
	if isMultipart(r) {
		limit = orchard.MaxAssetLen + 1<<20
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	var err error
	if isMultipart(r) {
		err = r.ParseMultipartForm(1 << 20)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		http.Error(w, "The form could not be read (too large?).", http.StatusRequestEntityTooLarge)
		return false
	}
	if !tokenEqual(r.PostFormValue("csrf"), s.csrf) {
		h.log.Warn("csrf token missing or wrong", "user", s.user.Name, "path", r.URL.Path, "addr", r.RemoteAddr)
		http.Error(w, "Forbidden: the form's security token is missing or wrong. Reload the page and try again.", http.StatusForbidden)
		return false
	}
	return true
}

// cluster wraps a handler only cluster admins may use.
func (h *Handler) cluster(next func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return h.auth(func(w http.ResponseWriter, r *http.Request, s *session) {
		if !s.cluster() {
			h.fail(w, r, s, orchard.Errorf(orchard.EFORBIDDEN, "Only a cluster admin may do this."))
			return
		}
		next(w, r, s)
	})
}

// site wraps a handler of /sites/{host}/...: the host must be canonical,
// registered, and the user's.
func (h *Handler) site(next func(http.ResponseWriter, *http.Request, *session, *orchard.Site)) http.HandlerFunc {
	return h.auth(func(w http.ResponseWriter, r *http.Request, s *session) {
		host, err := orchard.NormalizeHost(r.PathValue("host"))
		if err != nil || host != r.PathValue("host") {
			h.fail(w, r, s, orchard.Errorf(orchard.ENOTFOUND, "No such site."))
			return
		}
		if !s.may(host) {
			h.fail(w, r, s, orchard.Errorf(orchard.EFORBIDDEN, "You are not an admin of %s.", host))
			return
		}
		site, err := h.opt.Store.Site(r.Context(), host)
		if err != nil {
			h.fail(w, r, s, err)
			return
		}
		next(w, r, s, site)
	})
}

// isMultipart reports whether the request body is multipart/form-data.
func isMultipart(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data")
}
