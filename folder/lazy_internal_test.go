package folder

import (
	"testing"

	"github.com/orchardhq/orchard/internal/oncetest"
)

// TestLazyFirstUse: what the package builds on first use instead of at
// process start (issue 23) is built once however many goroutines ask for
// it first, and works.
func TestLazyFirstUse(t *testing.T) {
	oncetest.Shared(t, func() []any { return []any{shortcodeRE(), postName()} })
	if m := postName().FindStringSubmatch("2024-01-02-hello.md"); m == nil || m[4] != "hello" {
		t.Errorf("postName: %q, want the title", m)
	}
	if m := shortcodeRE().FindStringSubmatch("{{< figure src=x >}}"); m == nil || m[3] != "figure" {
		t.Errorf("shortcodeRE: %q, want the name", m)
	}
}
