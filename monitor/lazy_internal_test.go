package monitor

import (
	"testing"

	"github.com/orchardhq/orchard/internal/oncetest"
)

// TestLazyFirstUse: what the package builds on first use instead of at
// process start (issue 23) is built once however many goroutines ask for
// it first, and works.
func TestLazyFirstUse(t *testing.T) {
	oncetest.Shared(t, func() []any { return []any{dashboardTmpl(), dashboardPage(), reportTmpl(), unsafeFileChars()} })
	for _, tm := range []interface{ Name() string }{dashboardTmpl(), dashboardPage(), reportTmpl()} {
		if tm.Name() == "" {
			t.Errorf("a template without a name")
		}
	}
	if got := unsafeFileChars().ReplaceAllString("a/b c.json", "_"); got != "a_b_c.json" {
		t.Errorf("unsafeFileChars: %q, want a_b_c.json", got)
	}
}
