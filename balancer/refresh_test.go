package balancer_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/internal/testnet"
	"github.com/orchardhq/orchard/publish"
)

// TestRefresh checks the signed refresh endpoint: unsigned requests are
// refused, and a signed one makes the balancer re-check its members at once
// and answer with the release it now routes, long before its next periodic
// health check.
func TestRefresh(t *testing.T) {
	secret := []byte("refresh-test-secret-0123456789abcdef")
	be := newBackend(t, "n1", rel1)
	o := onePool("byrequests", be.member(1))
	o.Control = "127.0.0.1:0"
	o.ControlAuth = func(h http.Handler) http.Handler { return publish.RequireSignature(secret, publish.BalancerTarget, h) }
	o.Health = balancer.HealthOptions{Interval: time.Hour, Timeout: 5 * time.Second, Rise: 1, Fall: 1}
	b := mustOpen(t, o)
	testnet.WaitFor(t, "the first check's release", func() bool { return b.Status().Sites[siteHost] == rel1 })
	be.release.Store(ptr(rel2))
	url := "http://" + b.ControlAddr() + orchard.RefreshPath

	for _, tc := range []struct {
		name   string
		secret []byte
		status int
	}{
		{"Unsigned", nil, http.StatusUnauthorized},
		{"WrongSecret", []byte("another-secret-0123456789abcdef0123"), http.StatusUnauthorized},
		{"OK", secret, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", url, nil)
			if tc.secret != nil {
				publish.Sign(req, tc.secret, publish.BalancerTarget, nil)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != http.StatusOK {
				if got := b.Status().Sites[siteHost]; got != rel1 {
					t.Errorf("a refused refresh moved the site to %q", got)
				}
				return
			}
			var h orchard.Health
			if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
				t.Fatal(err)
			}
			if h.Releases[siteHost] != rel2 || b.Status().Sites[siteHost] != rel2 {
				t.Errorf("after refresh: answered %v, routes %q; want r2", h.Releases, b.Status().Sites[siteHost])
			}
		})
	}

	// A publish of one site asks for that site alone.
	for _, tc := range []struct {
		site string
		want map[string]string
	}{
		{siteHost, map[string]string{siteHost: rel2}},
		{"other.test", map[string]string{}},
	} {
		req, _ := http.NewRequest("POST", url+"?site="+tc.site, nil)
		publish.Sign(req, secret, publish.BalancerTarget, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var h orchard.Health
		err = json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		if err != nil || !maps.Equal(h.Releases, tc.want) {
			t.Errorf("refresh of %s: %v %v, want %v", tc.site, h.Releases, err, tc.want)
		}
	}
}

func ptr(s string) *string { return &s }

// TestSitesVersion: the version the balancer's release metrics are cached
// by changes when a site's newest release does, and not when a health
// check finds nothing new.
func TestSitesVersion(t *testing.T) {
	be := newBackend(t, "n1", rel1)
	o := onePool("byrequests", be.member(1))
	o.Health = balancer.HealthOptions{Interval: time.Hour, Timeout: 5 * time.Second, Rise: 1, Fall: 1}
	b := mustOpen(t, o)
	testnet.WaitFor(t, "the first check's release", func() bool { return b.Sites()[siteHost] == rel1 })
	v := b.SitesVersion()
	b.Refresh(context.Background())
	if now := b.SitesVersion(); now != v {
		t.Fatalf("version %q, then %q after a check that changed nothing", v, now)
	}
	be.release.Store(ptr(rel2))
	b.Refresh(context.Background())
	if got := b.Sites()[siteHost]; got != rel2 {
		t.Fatalf("after the refresh the balancer routes %q, want %q", got, rel2)
	}
	if b.SitesVersion() == v {
		t.Fatalf("version still %q after the site moved to a new release", v)
	}
}
