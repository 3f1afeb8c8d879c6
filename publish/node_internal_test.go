package publish

import (
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
)

// allBlobs is a node's blob store that holds every blob.
type allBlobs struct{}

func (allBlobs) Has(string) bool                            { return true }
func (allBlobs) PutVerified(string, io.Reader, int64) error { return nil }

// activeState is a node's active releases, in memory.
type activeState struct {
	mu  sync.Mutex
	ids map[string]string
}

func (s *activeState) Activate(site, id string, _ *orchard.Manifest, _ []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids[site] = id
	return nil
}

func (s *activeState) Releases() map[string]string { return nil }

func (s *activeState) ActiveCreated(site string) (string, time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.ids[site]
	return id, time.Time{}, ok
}

// TestActivatedForgetsStaging: once a site's release is activated, the
// receiver keeps nothing of that site among the staged releases (which
// every stage and activation walks to count them: before, each site ever
// published stayed there as an empty map, so a node holding 10,000 sites
// walked 10,000 of them per publish); of the release activated it keeps
// only the id (and creation time).
func TestActivatedForgetsStaging(t *testing.T) {
	n := NewNode(NodeConfig{Name: "node0", Blobs: allBlobs{}, State: &activeState{ids: map[string]string{}}})
	const sites = 50
	for i := range sites {
		site := fmt.Sprintf("s%02d.test", i)
		m := &orchard.Manifest{Site: site, Created: time.Unix(1.7e9, 0).UTC(), Files: map[string]orchard.ManifestEntry{}}
		id := m.ID()
		n.stage(m, id, []byte("encoded"))
		if _, err := n.activate(site, id, activation{}); err != nil {
			t.Fatal(err)
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.staged) != 0 || n.nStaged.Load() != 0 {
		t.Errorf("%d sites (%d releases) staged after every release was activated, want none", len(n.staged), n.nStaged.Load())
	}
	if len(n.active) != sites {
		t.Fatalf("%d sites with an active release, want %d", len(n.active), sites)
	}
	for site, st := range n.active {
		if !orchard.ValidReleaseID(st.id) {
			t.Fatalf("the active release of %s is recorded as %q, want its id", site, st.id)
		}
	}
}
