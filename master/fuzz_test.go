package master_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/orchardhq/orchard/master"
)

// FuzzServe sends arbitrary hosts and request targets: the handler never
// panics and answers only 200, 301, 400 or 404.
func FuzzServe(f *testing.F) {
	db := MustOpenStore(f)
	h := master.NewSiteHandler(db, nil)
	for _, s := range [][2]string{
		{"alpha.localhost", "/"}, {"alpha.localhost", "/news"}, {"ALPHA.localhost:80", "/%2e%2e/"},
		{"blog.localhost", "/notes/%00"}, {"..", "/"}, {"alpha.localhost", "/a%2fb"}, {"alpha.localhost", "//x//y/./z"},
		{"xn--bcher-kva.example", "/"}, {"alpha.localhost", "/theme/style.css?x#y"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, host, path string) {
		req, err := http.NewRequest("GET", "http://x"+path, nil)
		if err != nil || req.URL.Host != "x" {
			return
		}
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 301, 400, 404:
		default:
			t.Fatalf("host %q path %q: status %d", host, path, rec.Code)
		}
	})
}
