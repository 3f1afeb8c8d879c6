package node

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRouteKeys: every key is found at its place in the sorted keys, and
// nothing else is found: not a prefix or extension of a key, not a key
// of another case, not what sorts before the first or after the last.
func TestRouteKeys(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7, 64, 1000} {
		rng := rand.New(rand.NewPCG(uint64(n), 1))
		set := map[string]bool{}
		for len(set) < n {
			set[fmt.Sprintf("/%x/%d/index.html", rng.Uint32()%97, rng.IntN(50))] = true
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range set {
				if !yield(k) {
					return
				}
			}
		})
		r := newRouteKeys(keys)
		if r.len() != n {
			t.Fatalf("%d keys: len() = %d", n, r.len())
		}
		for i, k := range keys {
			if got, ok := r.index([]byte(k)); !ok || got != i {
				t.Fatalf("%d keys: index(%q) = %d, %v; want %d", n, k, got, ok, i)
			}
			if string(r.key(i)) != k {
				t.Fatalf("%d keys: key(%d) = %q, want %q", n, i, r.key(i), k)
			}
		}
		absent := []string{"", "/", "~", "/index.html", "/INDEX.HTML"}
		for _, k := range keys[:min(len(keys), 20)] {
			absent = append(absent, k[:len(k)-1], k+"x", k+"/", "/X"+k[1:])
		}
		for _, k := range absent {
			if set[k] {
				continue
			}
			if i, ok := r.index([]byte(k)); ok {
				t.Fatalf("%d keys: index(%q) = %d, found; it is not a key", n, k, i)
			}
		}
	}
}
