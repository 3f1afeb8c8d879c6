package publish

import (
	"slices"
	"testing"
	"time"
)

// TestMaybeGC: the GC runs once releases were activated and its wait is
// over (a minute, or gcSpacing times its last duration if longer), prunes
// every site the first time and then only the sites activated since.
func TestMaybeGC(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	start := now
	var calls [][]string
	took := time.Duration(0) // how long each GC takes on the clock
	n := NewNode(NodeConfig{Name: "node0", GC: func(sites []string) error {
		calls = append(calls, sites)
		now = now.Add(took)
		return nil
	}})
	c := gcClock{now: func() time.Time { return now }}
	activate := func(sites ...string) {
		for _, s := range sites {
			n.gcSites[s] = struct{}{}
		}
	}
	step := func(at time.Duration, want []string, wantCall bool) {
		t.Helper()
		now = start.Add(at)
		before := len(calls)
		n.maybeGC(&c)
		if got := len(calls) > before; got != wantCall {
			t.Fatalf("at %v: GC ran %v, want %v", at, got, wantCall)
		}
		if wantCall && !slices.Equal(calls[len(calls)-1], want) {
			t.Errorf("at %v: GC of sites %q, want %q", at, calls[len(calls)-1], want)
		}
	}
	step(0, nil, false) // nothing activated
	activate("b.test", "a.test")
	step(0, nil, true) // the first: every site (nil)
	activate("c.test")
	step(30*time.Second, nil, false) // within the minute
	step(60*time.Second, []string{"c.test"}, true)
	took = 10 * time.Second // a slow GC: the next waits 500 s after its end
	activate("d.test", "a.test")
	step(2*time.Minute, []string{"a.test", "d.test"}, true)
	activate("e.test")
	step(2*time.Minute+10*time.Second+499*time.Second, nil, false)
	step(2*time.Minute+10*time.Second+500*time.Second, []string{"e.test"}, true)
}
