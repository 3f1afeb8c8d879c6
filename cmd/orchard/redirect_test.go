package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orchardhq/orchard/internal/sample"
)

// TestRedirectWholePath: a redirect made with orchard redirect put is
// built into a release, published to a node and answered there as a 301
// with its Location; removing it and publishing again ends it.
func TestRedirectWholePath(t *testing.T) {
	ac := startAdminCluster(t)
	cfg := ac.m.cfg.Path
	host := sample.AlphaHost
	mustCLI(t, cfg, "", "redirect", "-s", host, "put", "/2019/01/about/", "/about/")
	mustCLI(t, cfg, "", "redirect", "-s", host, "put", "/gone.html", "https://example.org/elsewhere")
	if out := mustCLI(t, cfg, "", "redirect", "-s", host, "ls"); !strings.Contains(out, "/2019/01/about/") || !strings.Contains(out, "https://example.org/elsewhere") {
		t.Errorf("redirect ls does not list both redirects:\n%s", out)
	}
	mustCLI(t, cfg, "", "publish", "-s", host, "--build", "-q")
	for _, tc := range []struct{ path, location string }{
		{"/2019/01/about/", "/about/"},
		{"/2019/01/about", "/about/"},
		{"/gone.html", "https://example.org/elsewhere"},
	} {
		code, loc := fetchRedirect(t, "http://"+ac.node.Addr()+tc.path, host)
		if code != http.StatusMovedPermanently || loc != tc.location {
			t.Errorf("node: GET %s = %d Location %q, want 301 to %q", tc.path, code, loc, tc.location)
		}
	}
	if code, _ := fetch(t, "http://"+ac.node.Addr()+"/about/", host); code != http.StatusOK {
		t.Errorf("the target /about/ answers %d, want 200", code)
	}

	if r := runCLI(t, cfg, "", "redirect", "-s", host, "put", "http://evil.example/x", "/about/"); r.code == 0 {
		t.Errorf("redirect put with a URL as FROM succeeded:\n%s", r.out)
	}
	mustCLI(t, cfg, "", "redirect", "-s", host, "rm", "/2019/01/about/")
	mustCLI(t, cfg, "", "publish", "-s", host, "--build", "-q")
	if code, _ := fetchRedirect(t, "http://"+ac.node.Addr()+"/2019/01/about/", host); code != http.StatusNotFound {
		t.Errorf("after rm and publish: GET /2019/01/about/ = %d, want 404", code)
	}
}

// fetchRedirect GETs url with Host host without following a redirect and
// returns the status and Location.
func fetchRedirect(t *testing.T, url, host string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Host = host
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}
