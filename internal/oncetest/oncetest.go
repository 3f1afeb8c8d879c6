// Package oncetest checks values a package builds on first use instead of
// at process start: asked for by several goroutines at once, each is built
// once and every goroutine gets the same one.
package oncetest

import (
	"fmt"
	"sync"
	"testing"
)

// Goroutines is how many goroutines ask at once.
const Goroutines = 8

// Shared calls values from Goroutines goroutines at once and fails t
// unless every call returned the same values (pointers, maps, functions
// and the like compared by identity). Run alone (-run NAME -race), the
// calls are the very first uses.
func Shared(t testing.TB, values func() []any) {
	t.Helper()
	got := make([][]any, Goroutines)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() { got[i] = values() })
	}
	wg.Wait()
	if err := same(got); err != nil {
		t.Fatal(err)
	}
}

func same(got [][]any) error {
	for i := range got {
		if len(got[i]) != len(got[0]) {
			return fmt.Errorf("goroutine %d got %d values, goroutine 0 %d", i, len(got[i]), len(got[0]))
		}
		for j := range got[i] {
			if fmt.Sprintf("%p", got[i][j]) != fmt.Sprintf("%p", got[0][j]) {
				return fmt.Errorf("value %d: goroutine %d got %p, goroutine 0 %p: built more than once", j, i, got[i][j], got[0][j])
			}
		}
	}
	return nil
}
