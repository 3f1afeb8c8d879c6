package main

import (
	"testing"

	"github.com/orchardhq/orchard/internal/oncetest"
)

// TestLazyFirstUse: what the package builds on first use instead of at
// process start (issue 23) is built once however many goroutines ask for
// it first, and works.
func TestLazyFirstUse(t *testing.T) {
	oncetest.Shared(t, func() []any { return []any{demoConfigTemplate(), keepalivedConf()} })
	if demoConfigTemplate().Name() != "orchard.toml" || keepalivedConf().Name() != "keepalived" {
		t.Errorf("templates %q and %q", demoConfigTemplate().Name(), keepalivedConf().Name())
	}
}
