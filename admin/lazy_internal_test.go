package admin

import (
	"testing"

	"github.com/orchardhq/orchard/internal/oncetest"
)

// TestLazyFirstUse: what the package builds on first use instead of at
// process start (issue 23) is built once however many goroutines ask for
// it first, and works.
func TestLazyFirstUse(t *testing.T) {
	oncetest.Shared(t, func() []any { return []any{siteLinkRe(), stylesheetRe()} })
	if got := string(previewLinks([]byte(`<a href="/news/">`), "a.test")); got != `<a href="/sites/a.test/preview?path=%2Fnews%2F">` {
		t.Errorf("previewLinks: %s", got)
	}
	if m := stylesheetRe().FindSubmatch([]byte(`<link rel="stylesheet" href="/theme/s.css">`)); m == nil || string(m[1]) != "/theme/s.css" {
		t.Errorf("stylesheetRe: %q, want the href", m)
	}
}
