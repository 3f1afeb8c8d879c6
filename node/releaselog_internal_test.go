package node

import (
	"fmt"
	"slices"
	"testing"

	"github.com/orchardhq/orchard"
)

func TestReleaseLog(t *testing.T) {
	l := newReleaseLog()
	other := newReleaseLog()
	v0 := l.version()
	l.note("a.test")
	l.note("b.test")
	l.note("a.test")
	v3 := l.version()
	for _, tt := range []struct {
		name   string
		since  string
		want   []string
		wantOK bool
	}{
		{"SinceStart", v0, []string{"a.test", "b.test"}, true},
		{"Now", v3, nil, true},
		{"OtherProcess", other.version(), nil, false},
		{"Garbage", "x", nil, false},
		{"Future", l.epoch + "-9", nil, false},
	} {
		got, ok := l.since(tt.since)
		slices.Sort(got)
		if ok != tt.wantOK || !slices.Equal(got, tt.want) {
			t.Errorf("%s: since(%q) = %q, %v; want %q, %v", tt.name, tt.since, got, ok, tt.want, tt.wantOK)
		}
	}
	for range releaseLogSize {
		l.note("c.test")
	}
	recent := l.version()
	l.note("d.test")
	if _, ok := l.since(v0); ok {
		t.Error("a version older than the log remembers answered with changes")
	}
	if got, ok := l.since(recent); !ok || !slices.Equal(got, []string{"d.test"}) {
		t.Errorf("since(recent) after many changes = %q, %v", got, ok)
	}
}

// TestReleasesSum: the count and hash sum a node keeps as releases change
// are those of its releases, after the warm-up and after each activation.
func TestReleasesSum(t *testing.T) {
	n := openScaleNode(t, 3)
	activate := activateTwo(t, n)
	check := func(when string) {
		t.Helper()
		rels := n.Releases()
		var want uint64
		for site, id := range rels {
			want += orchard.ReleaseHash(site, id)
		}
		if count, sum := n.ReleasesSum(); count != len(rels) || sum != want {
			t.Fatalf("%s: ReleasesSum = %d, %x; the %d releases sum to %x", when, count, sum, len(rels), want)
		}
	}
	check("after the warm-up")
	for i := range 3 {
		activate()
		check(fmt.Sprint("after activation ", i))
	}
}
