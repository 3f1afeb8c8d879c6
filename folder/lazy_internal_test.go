package folder

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
		wg.Go(func() { got[i] = []any{shortcodeRE(), postName()} })
	}
	wg.Wait()
	for i := range got {
		for j := range got[i] {
			if got[i][j] != got[0][j] {
				t.Fatalf("value %d: goroutine %d got %p, goroutine 0 %p: built more than once", j, i, got[i][j], got[0][j])
			}
		}
	}
	if m := postName().FindStringSubmatch("2024-01-02-hello.md"); m == nil || m[4] != "hello" {
		t.Errorf("postName: %q, want the title", m)
	}
	if m := shortcodeRE().FindStringSubmatch("{{< figure src=x >}}"); m == nil || m[3] != "figure" {
		t.Errorf("shortcodeRE: %q, want the name", m)
	}
}
