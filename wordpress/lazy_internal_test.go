package wordpress

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
		wg.Go(func() {
			got[i] = []any{captionRE(), attrRE(), imageRE(), shortcodeRE(), blockRE(), blankLineRE(), urlAttrRE(), tagRE()}
		})
	}
	wg.Wait()
	for i := range got {
		for j := range got[i] {
			if got[i][j] != got[0][j] {
				t.Fatalf("value %d: goroutine %d got %p, goroutine 0 %p: built more than once", j, i, got[i][j], got[0][j])
			}
		}
	}
	if got := autop("one\n\ntwo"); got != "<p>one</p>\n\n<p>two</p>" {
		t.Errorf("autop: %q", got)
	}
	if got := stripTags("<b>a &amp; b</b>"); got != " a & b " {
		t.Errorf("stripTags: %q", got)
	}
	if got := shortcodes("[gallery ids=1] [/gallery]"); len(got) == 0 || got[0] != "gallery" {
		t.Errorf("shortcodes: %q", got)
	}
}
