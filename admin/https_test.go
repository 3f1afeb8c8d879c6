package admin_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/admin"
	"github.com/orchardhq/orchard/internal/sample"
)

// memHTTPS is the master's HTTPS settings file, in memory.
type memHTTPS struct {
	mu sync.Mutex
	m  map[string]orchard.HTTPSSettings
}

func (s *memHTTPS) Get(host string) (orchard.HTTPSSettings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[host], nil
}

func (s *memHTTPS) Set(host string, v orchard.HTTPSSettings) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[host] = v
	return nil
}

// TestHTTPSSettings: with automatic HTTPS the site's tabs link to its HTTPS
// settings; a site admin turns on the redirect and HSTS, turns the
// certificate off, and a bad max-age is refused with nothing saved.
// Without it, there is no tab and no page.
func TestHTTPSSettings(t *testing.T) {
	st := &memHTTPS{m: map[string]orchard.HTTPSSettings{sample.AlphaHost: {CertFile: "/etc/ssl/wild.pem", KeyFile: "/etc/ssl/wild.key"}}}
	u := newUI(t, admin.Options{HTTPS: st})
	c := u.client()
	c.login(sample.AlphaHost, siteName, sitePass)
	wantBody(t, "tab", c.get(alpha+"/"), `href="/sites/`+sample.AlphaHost+`/https"`)
	wantBody(t, "page", c.get(alpha+"/https"), "Automatic certificate", `name="auto" checked`, "/etc/ssl/wild.pem")

	wantStatus(t, "save", c.post(alpha+"/https", url.Values{"auto": {"on"}, "redirect": {"on"}, "hsts": {"8760h"}}), http.StatusSeeOther)
	want := orchard.HTTPSSettings{CertFile: "/etc/ssl/wild.pem", KeyFile: "/etc/ssl/wild.key", Redirect: true, HSTSSeconds: 365 * 24 * 3600}
	if got, _ := st.Get(sample.AlphaHost); got != want {
		t.Errorf("saved %+v, want %+v", got, want)
	}
	wantBody(t, "saved page", c.get(alpha+"/https"), `name="redirect" checked`, `value="8760h0m0s"`)

	wantStatus(t, "off", c.post(alpha+"/https", url.Values{"hsts": {"60"}}), http.StatusSeeOther)
	if got, _ := st.Get(sample.AlphaHost); !got.Off || got.Redirect || got.HSTSSeconds != 60 {
		t.Errorf("after turning off: %+v", got)
	}

	r := c.post(alpha+"/https", url.Values{"auto": {"on"}, "hsts": {"forever"}})
	wantStatus(t, "bad max-age", r, http.StatusBadRequest)
	wantBody(t, "bad max-age", r, "HSTS max-age is seconds", `value="forever"`)
	r = c.post(alpha+"/https", url.Values{"auto": {"on"}, "hsts": {"876000h"}})
	wantStatus(t, "max-age over two years", r, http.StatusBadRequest)
	if got, _ := st.Get(sample.AlphaHost); !got.Off || got.HSTSSeconds != 60 {
		t.Errorf("a refused form changed the settings: %+v", got)
	}
	wantStatus(t, "no CSRF token", c.post(alpha+"/https", url.Values{"auto": {"on"}, "csrf": {""}}), http.StatusForbidden)

	plain := newUI(t, admin.Options{})
	pc := plain.client()
	pc.login(sample.AlphaHost, siteName, sitePass)
	if r := pc.get(alpha + "/"); r.status != 200 || strings.Contains(r.body, alpha+"/https") {
		t.Errorf("without HTTPS settings the site page links to them (status %d)", r.status)
	}
	wantStatus(t, "no page without HTTPS settings", pc.get(alpha+"/https"), http.StatusNotFound)
}
