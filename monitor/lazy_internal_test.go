package monitor

import (
	"sync"
	"testing"
)

// TestLazyFirstUse: what the package builds on first use instead of at
// process start (issue 23) is built once however many goroutines ask for
// it first, and works. Run alone (-run TestLazyFirstUse -race), it sees the
// very first use.
func TestLazyFirstUse(t *testing.T) {
	const n = 8
	got := make([][]any, n)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() { got[i] = []any{dashboardTmpl(), dashboardPage(), reportTmpl(), unsafeFileChars()} })
	}
	wg.Wait()
	for i := range got {
		for j := range got[i] {
			if got[i][j] != got[0][j] {
				t.Fatalf("value %d: goroutine %d got %p, goroutine 0 %p: built more than once", j, i, got[i][j], got[0][j])
			}
		}
	}
	for _, tm := range []interface{ Name() string }{dashboardTmpl(), dashboardPage(), reportTmpl()} {
		if tm.Name() == "" {
			t.Errorf("a template without a name")
		}
	}
	if got := unsafeFileChars().ReplaceAllString("a/b c.json", "_"); got != "a_b_c.json" {
		t.Errorf("unsafeFileChars: %q, want a_b_c.json", got)
	}
}
