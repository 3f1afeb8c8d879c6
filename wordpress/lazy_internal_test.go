package wordpress

import (
	"testing"

	"github.com/orchardhq/orchard/internal/oncetest"
)

// TestLazyFirstUse: what the package builds on first use instead of at
// process start (issue 23) is built once however many goroutines ask for
// it first, and works.
func TestLazyFirstUse(t *testing.T) {
	oncetest.Shared(t, func() []any {
		return []any{captionRE(), attrRE(), imageRE(), shortcodeRE(), blockRE(), blankLineRE(), urlAttrRE(), tagRE()}
	})
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
