package master_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/master"
	"github.com/orchardhq/orchard/publish"
	"github.com/orchardhq/orchard/release"
)

var allSecret = []byte("0123456789abcdef0123456789abcdef-all-secret")

// fakeState is a node's active releases in memory; Activate refuses the
// sites in fail and, for a site in wait, waits until the site it names
// has been activated (or a deadline), so that sites finish out of order.
type fakeState struct {
	mu     sync.Mutex
	active map[string]string
	fail   map[string]bool
	wait   map[string]string
}

func (s *fakeState) Activate(site, id string, m *orchard.Manifest, _ []byte) error {
	if s.fail[site] {
		return errors.New("disk full")
	}
	if after := s.wait[site]; after != "" {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if id, _, _ := s.ActiveCreated(after); id != "" {
				break
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active[site] = id
	return nil
}

func (s *fakeState) Releases() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps(s.active)
}

func (s *fakeState) ActiveCreated(site string) (string, time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.active[site]
	return id, time.Time{}, ok
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// startFakeNode runs publish's node side over st and blobs in a temp dir;
// down: its address answers nothing.
func startFakeNode(t *testing.T, name string, st *fakeState, down bool) publish.Target {
	t.Helper()
	blobs, err := release.OpenBlobs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	n := publish.NewNode(publish.NodeConfig{Name: name, Secret: allSecret, Blobs: blobs, State: st})
	srv := httptest.NewServer(n.Handler())
	addr := strings.TrimPrefix(srv.URL, "http://")
	if down {
		srv.Close()
	} else {
		t.Cleanup(srv.Close)
	}
	return publish.Target{Name: name, ControlAddr: addr}
}

// saveSite stores a one-page release of host in rs and returns its id.
func saveSite(t *testing.T, rs *release.Store, host string) string {
	t.Helper()
	body := []byte("<html>" + host + "</html>")
	sha, err := rs.Blobs().Put(context.Background(), body)
	if err != nil {
		t.Fatal(err)
	}
	m := &orchard.Manifest{Site: host, Created: time.Unix(1.7e9, 0).UTC(), Files: map[string]orchard.ManifestEntry{
		"/index.html": {SHA256: sha, Size: int64(len(body)), ContentType: "text/html; charset=utf-8"},
	}}
	id, err := rs.SaveManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestPublishAll: every site is tried whatever happens to the others, the
// results come in the order of the sites however many are published at
// once and whichever finishes first, a site that fails on one node or has
// no release is reported as failed with why, and a node that is down only
// makes each site wait for its catch-up.
func TestPublishAll(t *testing.T) {
	sites := []string{"a.test", "b.test", "c.test", "d.test", "e.test", "f.test"}
	tests := []struct {
		name      string
		workers   int
		fail      map[string]bool   // on node1
		wait      map[string]string // on every node: site -> the site it waits for
		noRelease string            // a site given without a release
		down      bool              // node2 is down
		wantFail  []string
	}{
		{name: "AllOK", workers: 1},
		{name: "OutOfOrder", workers: 4, wait: map[string]string{"a.test": "d.test", "b.test": "c.test"}},
		{name: "OneSiteFailsOnOneNode", workers: 3, fail: map[string]bool{"c.test": true}, wantFail: []string{"c.test"}},
		{name: "SiteWithoutRelease", workers: 2, noRelease: "none.test", wantFail: []string{"none.test"}},
		{name: "NodeDown", workers: 8, down: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1.7e9, 0)
			svc := MustOpenService(t, &now)
			svc.DataDir = t.TempDir()
			want := map[string]string{}
			for _, s := range sites {
				want[s] = saveSite(t, svc.Releases, s)
			}
			given := slices.Clone(sites)
			if tt.noRelease != "" {
				given = slices.Insert(given, 2, tt.noRelease)
			}
			var states []*fakeState
			svc.Publisher = &publish.Publisher{Secret: allSecret, Blobs: svc.Releases.Blobs(), Catalog: master.Catalog{Store: svc.Releases}}
			for i := range 3 {
				st := &fakeState{active: map[string]string{}, wait: tt.wait}
				if i == 1 {
					st.fail = tt.fail
				}
				states = append(states, st)
				svc.Publisher.Nodes = append(svc.Publisher.Nodes, startFakeNode(t, fmt.Sprintf("node%d", i), st, tt.down && i == 2))
			}

			var got []master.SiteResult
			sum, err := svc.PublishAll(t.Context(), given, master.AllOptions{Workers: tt.workers, Site: func(r master.SiteResult) { got = append(got, r) }})
			if err != nil {
				t.Fatal(err)
			}
			var order, failed []string
			for _, r := range got {
				order = append(order, r.Site)
				if !r.OK() {
					failed = append(failed, r.Site)
				}
			}
			if !slices.Equal(order, given) {
				t.Errorf("results in the order %v, want %v", order, given)
			}
			if !slices.Equal(failed, tt.wantFail) {
				t.Errorf("failed sites %v, want %v", failed, tt.wantFail)
			}
			if sum.Sites != len(given) || sum.Published != len(given)-len(tt.wantFail) || sum.Failed != len(tt.wantFail) {
				t.Errorf("summary %+v, want %d sites, %d published, %d failed", sum, len(given), len(given)-len(tt.wantFail), len(tt.wantFail))
			}
			for _, r := range got {
				switch {
				case r.Site == tt.noRelease:
					if orchard.ErrorCode(r.Err) != orchard.ENOTFOUND {
						t.Errorf("%s without a release: %v, want ENOTFOUND", r.Site, r.Err)
					}
				case tt.fail[r.Site]:
					if n := r.Result.Nodes[1]; n.State != publish.PhaseFailed || !strings.Contains(fmt.Sprint(n.Err), "disk full") {
						t.Errorf("%s on node1: %s (%v), want failed with the node's reason", r.Site, n.State, n.Err)
					}
				}
			}
			for i, st := range states {
				if tt.down && i == 2 {
					continue
				}
				for _, s := range sites {
					id := st.Releases()[s]
					if tt.fail[s] && i == 1 {
						if id != "" {
							t.Errorf("node%d activated %s of %s, whose activation failed", i, id, s)
						}
						continue
					}
					if id != want[s] {
						t.Errorf("node%d serves %q of %s, want %s", i, id, s, want[s])
					}
				}
			}
			// The publish statistics count every site tried.
			m, err := svc.Releases.Active("a.test")
			if err != nil || m != want["a.test"] {
				t.Errorf("master's active release of a.test: %q %v, want %s", m, err, want["a.test"])
			}
		})
	}
}

// TestPublishAllCancel: once the context ends no further site is started,
// the sites started are reported, and PublishAll says it was cancelled.
func TestPublishAllCancel(t *testing.T) {
	now := time.Unix(1.7e9, 0)
	svc := MustOpenService(t, &now)
	svc.DataDir = t.TempDir()
	var sites []string
	for i := range 20 {
		s := fmt.Sprintf("s%02d.test", i)
		saveSite(t, svc.Releases, s)
		sites = append(sites, s)
	}
	st := &fakeState{active: map[string]string{}}
	svc.Publisher = &publish.Publisher{Secret: allSecret, Blobs: svc.Releases.Blobs(), Catalog: master.Catalog{Store: svc.Releases},
		Nodes: []publish.Target{startFakeNode(t, "node0", st, false)}}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var got []string
	sum, err := svc.PublishAll(ctx, sites, master.AllOptions{Workers: 2, Site: func(r master.SiteResult) {
		got = append(got, r.Site)
		if r.Site == "s03.test" {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("PublishAll cancelled: %v, want context.Canceled", err)
	}
	if len(got) >= len(sites) || !slices.Equal(got, sites[:len(got)]) {
		t.Errorf("reported %v after a cancel at s03, want a prefix of the sites, not all", got)
	}
	if sum.Published < 4 || sum.Published+sum.Failed > len(got) {
		t.Errorf("summary %+v after %d reported", sum, len(got))
	}
	for _, s := range sites[len(got):] {
		if id := st.Releases()[s]; id != "" {
			t.Errorf("%s was activated after the cancel, and not reported", s)
		}
	}
	// A stopped publish leaves the prune + GC rule (due here: no
	// collection yet) to the next one.
	if _, err := os.Stat(filepath.Join(svc.DataDir, "gc-stamp")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a cancelled PublishAll collected garbage (gc-stamp: %v)", err)
	}
}
