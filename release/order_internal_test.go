package release

import (
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
)

// Builds in the same second tie on Created; the one built on top of the
// other must still come first, whatever the ids.
func TestSortNewestFirstSameSecond(t *testing.T) {
	sec := time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC)
	older := sec.Add(-time.Second)
	for _, ids := range [][3]string{{"a", "b", "c"}, {"c", "b", "a"}, {"b", "c", "a"}} {
		// ids[0] <- ids[1] <- ids[2], the last two built in the same second.
		rels := []orchard.Release{
			{ID: ids[1], Parent: ids[0], Created: sec},
			{ID: ids[0], Created: older},
			{ID: ids[2], Parent: ids[1], Created: sec},
		}
		sortNewestFirst(rels)
		if got := []string{rels[0].ID, rels[1].ID, rels[2].ID}; got[0] != ids[2] || got[1] != ids[1] || got[2] != ids[0] {
			t.Errorf("chain %v: order %v, want newest first", ids, got)
		}
	}
}
