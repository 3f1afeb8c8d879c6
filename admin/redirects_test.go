package admin_test

import (
	"net/http"
	"net/url"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/admin"
	"github.com/orchardhq/orchard/internal/sample"
)

// TestRedirects: a site admin lists, adds, replaces and deletes redirects;
// they are saved with the site; a bad one is refused with the form kept.
func TestRedirects(t *testing.T) {
	u := newUI(t, admin.Options{})
	c := u.client()
	c.login(sample.AlphaHost, siteName, sitePass)
	wantBody(t, "empty list", c.get(alpha+"/redirects"), "No redirects yet.")

	wantStatus(t, "add", c.post(alpha+"/redirects", url.Values{"from": {"/2019/01/hello/"}, "to": {"/news/hello/"}}), http.StatusSeeOther)
	wantStatus(t, "add URL", c.post(alpha+"/redirects", url.Values{"from": {"/old.html"}, "to": {"https://example.org/new"}}), http.StatusSeeOther)
	wantStatus(t, "replace", c.post(alpha+"/redirects", url.Values{"from": {"/2019/01/hello/"}, "to": {"/about/"}}), http.StatusSeeOther)
	site, err := u.store.Site(t.Context(), sample.AlphaHost)
	if err != nil {
		t.Fatal(err)
	}
	want := []orchard.Redirect{{From: "/2019/01/hello/", To: "/about/"}, {From: "/old.html", To: "https://example.org/new"}}
	if len(site.Redirects) != 2 || site.Redirects[0] != want[0] || site.Redirects[1] != want[1] {
		t.Fatalf("stored redirects %v, want %v", site.Redirects, want)
	}
	wantBody(t, "list", c.get(alpha+"/redirects"), "/2019/01/hello/", "https://example.org/new")

	r := c.post(alpha+"/redirects", url.Values{"from": {"http://evil.example/x/"}, "to": {"/about/"}})
	wantStatus(t, "URL as the old path", r, http.StatusBadRequest)
	wantBody(t, "URL as the old path", r, "not a URL", `value="http://evil.example/x/"`)
	r = c.post(alpha+"/redirects", url.Values{"from": {"/x/"}, "to": {"javascript:alert(1)"}})
	wantStatus(t, "javascript target", r, http.StatusBadRequest)

	wantStatus(t, "delete", c.post(alpha+"/redirects/delete", url.Values{"from": {"/old.html"}}), http.StatusSeeOther)
	wantStatus(t, "delete missing", c.post(alpha+"/redirects/delete", url.Values{"from": {"/old.html"}}), http.StatusNotFound)
	if site, err := u.store.Site(t.Context(), sample.AlphaHost); err != nil || len(site.Redirects) != 1 || site.Redirects[0] != want[0] {
		t.Fatalf("after delete: %v, %v", site.Redirects, err)
	}
}
