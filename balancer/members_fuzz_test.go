package balancer

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/orchardhq/orchard"
)

// FuzzControlSetMember feeds the signed member endpoint arbitrary bodies
// (the signature is checked before, by ControlAuth): it never panics,
// answers 200, 400, 404 or 409, and leaves only valid persisted state.
func FuzzControlSetMember(f *testing.F) {
	for _, s := range []string{`{"action":"drain"}`, `{"action":"weight","weight":50}`, `{"action":"weight","weight":-1}`,
		`{"action":"enable","at":"2026-01-02T03:04:05Z"}`, `{"at":"x"}`, `null`, `[]`, ``, `{"action":"disable","at":"0001-01-01T00:00:00Z"}`} {
		f.Add(s)
	}
	b := New(Options{Pools: []Pool{{Name: "web", Members: []orchard.Member{{Name: "n1", Addr: "127.0.0.1:1", Weight: 1}}}},
		VHosts: []VHost{{Hosts: []string{"*"}, Pool: "web"}}})
	if err := b.loadState(); err != nil {
		f.Fatal(err)
	}
	b.mu.Lock()
	tb, _ := b.buildLocked(b.opts) // a first build stops no health loop
	b.table.Store(tb)
	b.mu.Unlock()
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", orchard.MembersPath+"/web/n1", strings.NewReader(body))
		req.SetPathValue("pool", "web")
		req.SetPathValue("member", "n1")
		w := httptest.NewRecorder()
		b.controlSetMember(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusConflict:
		default:
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		for k, s := range b.state.Members {
			if s.State != "" && s.State != orchard.MemberDisabled && s.State != orchard.MemberDraining || s.Weight < 0 || s.Weight > orchard.MaxMemberWeight {
				t.Fatalf("invalid state %s: %+v after %q", k, s, body)
			}
		}
	})
}
