package publish_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orchardhq/orchard/publish"
)

// TestActivateAlreadyActive: an activation of a release that is already
// active but no longer staged (catch-up activated it first, as it may
// while the master records the release) succeeds instead of failing the
// publish with "not staged".
func TestActivateAlreadyActive(t *testing.T) {
	master, cat := newMemBlobs(), newMemCatalog()
	n := startNode(t, "node0", "")
	p := newPublisher(master, cat, n)
	m := makeRelease(master, "a.test", 3, "v1")
	if res, err := p.Publish(t.Context(), "a.test", m, nil); err != nil || !res.OK() {
		t.Fatalf("publish: %v %+v", err, res)
	}
	resp := signed(t, "POST", n.srv.URL+"/_orchard/v1/releases/a.test/"+m.ID()+"/activate", nil, testSecret)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("activating the active release again: status %d, want 200", resp.StatusCode)
	}
	other := makeRelease(master, "a.test", 3, "v2")
	resp = signed(t, "POST", n.srv.URL+"/_orchard/v1/releases/a.test/"+other.ID()+"/activate", nil, testSecret)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("activating a release never staged: status %d, want 404", resp.StatusCode)
	}
}

// inflight wraps a node's handler and records the most requests it had in
// flight at once. Until hold requests have been in flight together, each
// waits (up to 300 ms) for them, so that requests a publisher sends at
// once overlap here.
type inflight struct {
	h        http.Handler
	hold     int64
	now, max atomic.Int64
	opened   atomic.Bool
}

func (f *inflight) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.now.Add(1)
	defer f.now.Add(-1)
	for {
		m := f.max.Load()
		if n <= m || f.max.CompareAndSwap(m, n) {
			break
		}
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	for !f.opened.Load() && time.Now().Before(deadline) {
		if f.now.Load() >= f.hold {
			f.opened.Store(true)
		}
		time.Sleep(time.Millisecond)
	}
	f.h.ServeHTTP(w, r)
}

// TestNodeRequests: however many publishes run at once, a node never has
// more than NodeRequests requests of them in flight, and each publish
// still activates everywhere.
func TestNodeRequests(t *testing.T) {
	tests := []struct {
		name               string
		limit, sites, conc int
	}{
		{"OneAtATime", 1, 4, 4},
		{"Two", 2, 6, 2},
		{"Default", 0, 12, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			master, cat := newMemBlobs(), newMemCatalog()
			var nodes []*inflight
			p := &publish.Publisher{Secret: testSecret, Blobs: master, Catalog: cat, BatchBytes: 2 << 10,
				NodeRequests: tt.limit, Concurrency: tt.conc}
			want := int64(tt.limit)
			if want == 0 {
				want = 8
			}
			for i := range 2 {
				name := fmt.Sprintf("node%d", i)
				b := newMemBlobs()
				n := publish.NewNode(publish.NodeConfig{Name: name, Secret: testSecret, Blobs: b, State: newMemState(b)})
				f := &inflight{h: n.Handler(), hold: want}
				srv := httptest.NewServer(f)
				t.Cleanup(srv.Close)
				nodes = append(nodes, f)
				p.Nodes = append(p.Nodes, publish.Target{Name: name, ControlAddr: strings.TrimPrefix(srv.URL, "http://")})
			}
			var wg sync.WaitGroup
			errs := make([]error, tt.sites)
			for i := range tt.sites {
				site := fmt.Sprintf("s%d.test", i)
				m := makeRelease(master, site, 40, "v1")
				wg.Go(func() {
					res, err := p.Publish(t.Context(), site, m, nil)
					if err == nil && !res.OK() {
						err = fmt.Errorf("not activated everywhere: %+v", res.Nodes)
					}
					errs[i] = err
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("site %d: %v", i, err)
				}
			}
			for i, f := range nodes {
				if got := f.max.Load(); got > want {
					t.Errorf("node%d had %d requests in flight at once, want at most %d", i, got, want)
				}
			}
		})
	}
}

// TestSendActivatesAfterCancel: a cancel that comes once every node has
// staged the release does not stop the activations half-way: every node
// activates it and the publish reports so.
func TestSendActivatesAfterCancel(t *testing.T) {
	master, cat := newMemBlobs(), newMemCatalog()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	p := &publish.Publisher{Secret: testSecret, Blobs: master, Catalog: cat}
	var states []*memState
	for i := range 3 {
		name := fmt.Sprintf("node%d", i)
		b := newMemBlobs()
		st := newMemState(b)
		states = append(states, st)
		h := publish.NewNode(publish.NodeConfig{Name: name, Secret: testSecret, Blobs: b, State: st}).Handler()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/activate") {
				// Ctrl-C now; a client that gives up closes the
				// connection, which ends r's context.
				cancel()
				select {
				case <-r.Context().Done():
				case <-time.After(time.Second):
				}
			}
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		p.Nodes = append(p.Nodes, publish.Target{Name: name, ControlAddr: strings.TrimPrefix(srv.URL, "http://")})
	}
	m := makeRelease(master, "a.test", 5, "v1")
	res, err := p.Publish(ctx, "a.test", m, nil)
	if err != nil {
		t.Fatalf("publish cancelled during activation: %v", err)
	}
	for i, nr := range res.Nodes {
		if nr.State != publish.PhaseActivated {
			t.Errorf("node%d: %s (%v), want activated", i, nr.State, nr.Err)
		}
		if got := states[i].Releases()["a.test"]; got != m.ID() {
			t.Errorf("node%d serves %q, want %s", i, got, m.ID())
		}
	}

	// A cancel before the activations stops the publish with nothing
	// activated anywhere.
	m2 := makeRelease(master, "b.test", 5, "v1")
	done, stop := context.WithCancel(t.Context())
	stop()
	if _, err := p.Publish(done, "b.test", m2, nil); err == nil {
		t.Error("publish with a cancelled context succeeded")
	}
	for i, st := range states {
		if got := st.Releases()["b.test"]; got != "" {
			t.Errorf("node%d activated %s of a cancelled publish", i, got)
		}
	}
}
