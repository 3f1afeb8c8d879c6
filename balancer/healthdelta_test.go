package balancer_test

import (
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/internal/testnet"
)

// versionedHealth is a node's health endpoint that numbers its lists and
// answers ?since=VERSION with the changes since, as node.Node does.
type versionedHealth struct {
	mu      sync.Mutex
	epoch   string
	history []map[string]string // the list at each version (index)
	asked   []string            // the since of each request
}

func (v *versionedHealth) set(rels map[string]string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.history = append(v.history, maps.Clone(rels))
}

func (v *versionedHealth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	defer v.mu.Unlock()
	since := r.URL.Query().Get("since")
	v.asked = append(v.asked, since)
	last := len(v.history) - 1
	h := orchard.Health{OK: true, Role: "node", Version: v.epoch + "-" + strconv.Itoa(last), Releases: v.history[last]}
	if e, g, ok := cut(since); ok && e == v.epoch && g <= last {
		h.Delta, h.Releases = true, map[string]string{}
		for site, id := range v.history[last] {
			if v.history[g][site] != id {
				h.Releases[site] = id
			}
		}
		for site := range v.history[g] {
			if _, ok := v.history[last][site]; !ok {
				h.Releases[site] = ""
			}
		}
	}
	json.NewEncoder(w).Encode(h)
}

// cut splits a version "EPOCH-N".
func cut(v string) (string, int, bool) {
	i := strings.LastIndexByte(v, '-')
	g, err := strconv.Atoi(v[i+1:])
	return v[:max(i, 0)], g, i >= 0 && err == nil
}

// TestHealthDeltas: the balancer sends back the version of each member's
// last health answer and applies the changes it gets, and a member that
// answers with a whole list (restarted) is read whole again.
func TestHealthDeltas(t *testing.T) {
	be := newBackend(t, "n1", rel1)
	vh := &versionedHealth{epoch: "e"}
	vh.set(map[string]string{"x.test": rel1, "y.test": rel1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: vh, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	m := be.member(1)
	m.HealthAddr = ln.Addr().String()
	o := onePool("byrequests", m)
	o.Health = balancer.HealthOptions{Interval: time.Hour, Timeout: 5 * time.Second, Rise: 1, Fall: 1}
	b := mustOpen(t, o)
	testnet.WaitFor(t, "the first health check", func() bool {
		vh.mu.Lock()
		defer vh.mu.Unlock()
		return len(vh.asked) > 0
	})
	sites := func() map[string]string {
		got := b.Refresh(t.Context())
		delete(got, siteHost) // the backend's own
		return got
	}
	want := func(step string, w map[string]string, since string) {
		t.Helper()
		got := sites()
		if !maps.Equal(got, w) {
			t.Errorf("%s: routes %v, want %v", step, got, w)
		}
		vh.mu.Lock()
		asked := vh.asked[len(vh.asked)-1]
		vh.mu.Unlock()
		if asked != since {
			t.Errorf("%s: the check asked since %q, want %q", step, asked, since)
		}
	}
	want("first check", map[string]string{"x.test": rel1, "y.test": rel1}, "e-0")
	vh.set(map[string]string{"x.test": rel1, "y.test": rel2, "z.test": rel1})
	want("y.test moved, z.test came", map[string]string{"x.test": rel1, "y.test": rel2, "z.test": rel1}, "e-0")
	want("nothing changed", map[string]string{"x.test": rel1, "y.test": rel2, "z.test": rel1}, "e-1")
	vh.mu.Lock()
	vh.epoch = "f" // restarted: "e-1" is not one of its versions
	vh.mu.Unlock()
	vh.set(map[string]string{"x.test": rel2, "y.test": rel2, "z.test": rel1})
	want("restarted member", map[string]string{"x.test": rel2, "y.test": rel2, "z.test": rel1}, "e-1")
	want("after the restart", map[string]string{"x.test": rel2, "y.test": rel2, "z.test": rel1}, "f-2")
}
