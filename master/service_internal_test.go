package master

import (
	"testing"
	"time"

	"github.com/orchardhq/orchard/release"
)

// TestGCDue: publishes collect when none has for GCEvery (and the first
// time), not in between; Collect stamps the time by the Service's clock.
func TestGCDue(t *testing.T) {
	rs, err := release.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	now := time.Unix(1.7e9, 0)
	s := &Service{Releases: rs, GCEvery: time.Hour, Clock: func() time.Time { return now }}
	if !s.gcDue() {
		t.Fatal("never collected: not due")
	}
	if err := s.Collect(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		after time.Duration
		due   bool
	}{{0, false}, {59 * time.Minute, false}, {time.Hour, true}} {
		now = time.Unix(1.7e9, 0).Add(tt.after)
		if got := s.gcDue(); got != tt.due {
			t.Errorf("%v after a collection: due %v, want %v", tt.after, got, tt.due)
		}
	}
}
