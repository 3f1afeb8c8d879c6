package admin_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orchardhq/orchard/admin"
	"github.com/orchardhq/orchard/internal/sample"
)

func TestLogin(t *testing.T) {
	u := newUI(t, admin.Options{})
	t.Run("LoggedOutRedirects", func(t *testing.T) {
		c := u.client()
		r := c.get("/")
		wantStatus(t, "GET /", r, http.StatusSeeOther)
		if loc := r.header.Get("Location"); loc != "/login" {
			t.Fatalf("Location = %q, want /login", loc)
		}
		wantStatus(t, "GET a site", c.get("/sites/"+sample.AlphaHost+"/"), http.StatusSeeOther)
		wantStatus(t, "POST without session", c.post("/sites", url.Values{"host": {"x.test"}}), http.StatusUnauthorized)
	})
	t.Run("WrongPassword", func(t *testing.T) {
		c := u.client()
		r := c.tryLogin("", rootName, "nope")
		wantStatus(t, "login", r, http.StatusUnauthorized)
		wantBody(t, "login", r, "Wrong site, user name or password.", `value="root"`)
		if strings.Contains(r.body, "nope") {
			t.Error("the password was echoed back")
		}
		wantStatus(t, "unknown user", c.tryLogin("", "nobody", "x"), http.StatusUnauthorized)
		wantStatus(t, "site admin without site", c.tryLogin("", siteName, sitePass), http.StatusUnauthorized)
	})
	t.Run("ClusterAdmin", func(t *testing.T) {
		c := u.client()
		r := c.tryLogin("", rootName, rootPass)
		wantStatus(t, "login", r, http.StatusSeeOther)
		var cookie string
		for _, v := range r.header.Values("Set-Cookie") {
			if strings.HasPrefix(v, "orchard_admin=") {
				cookie = v
			}
		}
		for _, attr := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
			if !strings.Contains(cookie, attr) {
				t.Errorf("session cookie %q lacks %s", cookie, attr)
			}
		}
		if strings.Contains(cookie, "Secure") {
			t.Errorf("session cookie %q is Secure without TLS", cookie)
		}
		r = c.get("/")
		wantStatus(t, "GET /", r, 200)
		wantBody(t, "GET /", r, sample.AlphaHost, "New site")
		wantStatus(t, "nodes", c.get("/nodes"), 200)
		for _, h := range []string{"X-Frame-Options", "Content-Security-Policy", "X-Content-Type-Options"} {
			if r.header.Get(h) == "" {
				t.Errorf("response lacks %s", h)
			}
		}
		wantStatus(t, "logout", c.post("/logout", url.Values{}), http.StatusSeeOther)
		wantStatus(t, "GET / after logout", c.get("/"), http.StatusSeeOther)
	})
	t.Run("SiteAdmin", func(t *testing.T) {
		c := u.client()
		c.login(sample.AlphaHost, siteName, sitePass)
		r := c.get("/")
		wantStatus(t, "GET /", r, http.StatusSeeOther)
		if loc := r.header.Get("Location"); loc != "/sites/"+sample.AlphaHost+"/" {
			t.Fatalf("Location = %q", loc)
		}
		wantStatus(t, "own site", c.get("/sites/"+sample.AlphaHost+"/"), 200)
		wantStatus(t, "other site", c.get("/sites/"+sample.BlogHost+"/"), http.StatusForbidden)
		wantStatus(t, "nodes", c.get("/nodes"), http.StatusForbidden)
		wantStatus(t, "create site", c.post("/sites", url.Values{"host": {"x.test"}}), http.StatusForbidden)
		wantStatus(t, "bad host in URL", c.get("/sites/..%2Fetc/"), http.StatusNotFound)
	})
	t.Run("SecureCookie", func(t *testing.T) {
		su := newUI(t, admin.Options{Secure: true})
		r := su.client().tryLogin("", rootName, rootPass)
		if !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), "\n"), "Secure") {
			t.Fatal("session cookie not Secure with Options.Secure")
		}
	})
	t.Run("SessionExpires", func(t *testing.T) {
		c := u.client()
		c.login("", rootName, rootPass)
		u.clock.add(9 * time.Hour)
		wantStatus(t, "GET / after 9 h", c.get("/"), http.StatusSeeOther)
	})
}

func TestCSRF(t *testing.T) {
	u := newUI(t, admin.Options{})
	c := u.client()
	c.login("", rootName, rootPass)
	page := url.Values{"path": {"/csrf/"}, "title": {"CSRF"}, "body": {"x"}}
	tests := []struct {
		name  string
		token []string
	}{
		{"Missing", nil},
		{"Empty", []string{""}},
		{"Wrong", []string{strings.Repeat("0", 64)}},
		{"OtherSession", nil}, // filled below
	}
	other := u.client()
	other.login("", rootName, rootPass)
	tests[3].token = []string{other.csrf}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range page {
				f[k] = v
			}
			f["csrf"] = tt.token
			wantStatus(t, "POST page", c.post("/sites/"+sample.AlphaHost+"/pages", f), http.StatusForbidden)
			wantStatus(t, "POST site", c.post("/sites", url.Values{"host": {"csrf.test"}, "csrf": tt.token}), http.StatusForbidden)
			wantStatus(t, "POST logout", c.post("/logout", url.Values{"csrf": tt.token}), http.StatusForbidden)
		})
	}
	if _, err := u.store.Page(t.Context(), sample.AlphaHost, "/csrf/"); err == nil {
		t.Fatal("a page was saved without a valid CSRF token")
	}
	t.Run("LoginWithoutToken", func(t *testing.T) {
		r := u.client().post("/login", url.Values{"name": {rootName}, "password": {rootPass}, "csrf": nil})
		wantStatus(t, "login without token", r, http.StatusForbidden)
	})
	t.Run("OK", func(t *testing.T) {
		wantStatus(t, "POST page", c.post("/sites/"+sample.AlphaHost+"/pages", page), http.StatusSeeOther)
	})
}

func TestThrottle(t *testing.T) {
	u := newUI(t, admin.Options{})
	c := u.client()
	for i := 0; i < 5; i++ {
		wantStatus(t, "failed login "+strconv.Itoa(i), c.tryLogin("", rootName, "wrong"), http.StatusUnauthorized)
	}
	t.Run("RightPasswordRefused", func(t *testing.T) {
		r := c.tryLogin("", rootName, rootPass)
		wantStatus(t, "6th login", r, http.StatusTooManyRequests)
		ra, err := strconv.Atoi(r.header.Get("Retry-After"))
		if err != nil || ra < 1 || ra > 15*60 {
			t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
		}
		wantBody(t, "6th login", r, "Too many failed logins")
	})
	t.Run("SameAddressOtherUser", func(t *testing.T) {
		wantStatus(t, "other user, same address", c.tryLogin(sample.AlphaHost, siteName, sitePass), http.StatusTooManyRequests)
	})
	t.Run("AfterWindow", func(t *testing.T) {
		u.clock.add(15*time.Minute + time.Second)
		wantStatus(t, "login after 15 min", c.tryLogin("", rootName, rootPass), http.StatusSeeOther)
	})
}
