package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/publish"
)

// TestPrintStatusFilter: --filter shows only the matching sites and counts
// lag only on them, but a down node counts whatever is shown.
func TestPrintStatusFilter(t *testing.T) {
	master := map[string]string{"a.test": "r1", "b.test": "r2"}
	lagsOnB := publish.NodeState{Name: "node0", Status: &publish.NodeStatus{Releases: map[string]string{"a.test": "r1", "b.test": "old"}}}
	down := publish.NodeState{Name: "node1", Down: true, Err: errors.New("connection refused")}
	tests := []struct {
		filter    string
		states    []publish.NodeState
		wantBad   int
		shown, no string
	}{
		{"", []publish.NodeState{lagsOnB}, 1, "b.test", ""},
		{"a.*", []publish.NodeState{lagsOnB}, 0, "a.test", "b.test"},
		{"b.*", []publish.NodeState{lagsOnB}, 1, "b.test", "a.test"},
		{"nothing.*", []publish.NodeState{lagsOnB, down}, 1, "node1", "a.test"},
	}
	for _, tt := range tests {
		p, err := orchard.ParseHostPattern(tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		if got := printStatus(&out, master, tt.states, p, nil); got != tt.wantBad {
			t.Errorf("filter %q: %d nodes down or lagging, want %d\n%s", tt.filter, got, tt.wantBad, out.String())
		}
		if !strings.Contains(out.String(), tt.shown) || (tt.no != "" && strings.Contains(out.String(), tt.no)) {
			t.Errorf("filter %q: want %q shown and %q not:\n%s", tt.filter, tt.shown, tt.no, out.String())
		}
	}
}
