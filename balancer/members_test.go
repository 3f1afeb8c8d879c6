package balancer_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/publish"
)

const tierSecret = "tier-test-secret-0123456789abcdef012"

// signedOpts returns one-pool options with a control listener whose
// signed endpoints check tierSecret, persisting in a temporary directory.
func signedOpts(t *testing.T, ms ...orchard.Member) balancer.Options {
	t.Helper()
	o := onePool("byrequests", ms...)
	o.Control = "127.0.0.1:0"
	o.ControlAuth = func(h http.Handler) http.Handler {
		return publish.RequireSignature([]byte(tierSecret), publish.BalancerTarget, h)
	}
	o.DataDir = t.TempDir()
	return o
}

// TestMembersEndpoint checks the signed member endpoint: only requests
// signed for a balancer with the cluster secret get through, it validates
// like the manager form, and an accepted action applies and persists.
func TestMembersEndpoint(t *testing.T) {
	be := newBackend(t, "n1", rel1)
	o := signedOpts(t, be.member(1))
	b := mustOpen(t, o)
	base := "http://" + b.ControlAddr() + orchard.MembersPath

	for _, tc := range []struct {
		name   string
		path   string
		body   string
		secret string
		target string
		status int
	}{
		{"Unsigned", "/web/n1", `{"action":"drain"}`, "", "", http.StatusUnauthorized},
		{"WrongTarget", "/web/n1", `{"action":"drain"}`, tierSecret, "n1", http.StatusUnauthorized},
		{"WrongSecret", "/web/n1", `{"action":"drain"}`, "another-secret-0123456789abcdef0123", publish.BalancerTarget, http.StatusUnauthorized},
		{"ErrNotFoundMember", "/web/n9", `{"action":"drain"}`, tierSecret, publish.BalancerTarget, http.StatusNotFound},
		{"ErrNotFoundPool", "/api/n1", `{"action":"drain"}`, tierSecret, publish.BalancerTarget, http.StatusNotFound},
		{"ErrInvalidAction", "/web/n1", `{"action":"explode"}`, tierSecret, publish.BalancerTarget, http.StatusBadRequest},
		{"ErrInvalidWeight", "/web/n1", `{"action":"weight","weight":101}`, tierSecret, publish.BalancerTarget, http.StatusBadRequest},
		{"ErrInvalidBody", "/web/n1", `drain`, tierSecret, publish.BalancerTarget, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := signedDo(t, "POST", base+tc.path, tc.body, tc.secret, tc.target, nil); code != tc.status {
				t.Fatalf("status %d, want %d", code, tc.status)
			}
			if got := memberStatus(b, "n1").State; got != orchard.MemberOK {
				t.Errorf("a refused action left n1 %q", got)
			}
		})
	}

	t.Run("OK", func(t *testing.T) {
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		body := `{"action":"drain","at":"` + at.Format(time.RFC3339) + `"}`
		var got orchard.MemberSetting
		if code := signedDo(t, "POST", base+"/web/n1", body, tierSecret, publish.BalancerTarget, &got); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		if got.Admin != orchard.MemberDraining || !got.Changed.Equal(at) {
			t.Errorf("answer %+v, want draining changed at %v", got, at)
		}
		if s := memberStatus(b, "n1").State; s != orchard.MemberDraining {
			t.Errorf("n1 is %q after drain", s)
		}
		data, err := os.ReadFile(filepath.Join(o.DataDir, balancer.StateFile))
		if err != nil || !strings.Contains(string(data), `"draining"`) {
			t.Errorf("manager state not persisted: %v\n%s", err, data)
		}
		var view []orchard.MemberSetting
		if code := signedDo(t, "GET", base, "", tierSecret, publish.BalancerTarget, &view); code != http.StatusOK {
			t.Fatalf("GET status %d", code)
		}
		if len(view) != 1 || view[0].Member != "n1" || view[0].Admin != orchard.MemberDraining {
			t.Errorf("GET view %+v, want n1 draining", view)
		}
		// An action older than the applied one loses: the newest wins.
		old := `{"action":"enable","at":"` + at.Add(-time.Minute).Format(time.RFC3339) + `"}`
		if code := signedDo(t, "POST", base+"/web/n1", old, tierSecret, publish.BalancerTarget, nil); code != http.StatusConflict {
			t.Errorf("older action: status %d, want 409", code)
		}
		if s := memberStatus(b, "n1").State; s != orchard.MemberDraining {
			t.Errorf("an older enable moved n1 to %q", s)
		}
	})
}

// signedDo sends a request signed with secret for target (unsigned when
// secret is ""), decodes a 200 answer into out and returns the status.
func signedDo(t *testing.T, method, url, body, secret, target string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" {
		var b []byte
		if body != "" {
			b = []byte(body)
		}
		publish.Sign(req, []byte(secret), target, b)
	}
	resp, err := newClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}
