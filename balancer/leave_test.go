package balancer_test

import (
	"net/http"
	"testing"

	"github.com/orchardhq/orchard"
)

// TestLeave checks the first step of a planned stop in a tier: after Leave
// the health check keepalived runs fails, so the virtual address moves
// away, yet the balancer still proxies the requests that keep arriving
// until the address has moved.
func TestLeave(t *testing.T) {
	be := newBackend(t, "n1", rel1)
	o := onePool("byrequests", be.member(1))
	o.Control = "127.0.0.1:0"
	b := mustOpen(t, o)
	health := func() int {
		t.Helper()
		resp, err := http.Get("http://" + b.ControlAddr() + orchard.HealthPath)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := health(); got != http.StatusOK {
		t.Fatalf("health before Leave = %d, want 200", got)
	}
	b.Leave()
	b.Leave() // idempotent
	if got := health(); got != http.StatusServiceUnavailable {
		t.Errorf("health after Leave = %d, want 503", got)
	}
	resp, body := get(t, http.DefaultClient, b.Addr(), "/")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("traffic after Leave = %d %q, want 200", resp.StatusCode, body)
	}
}
