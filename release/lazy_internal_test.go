package release

import (
	"hash/crc32"
	"testing"

	"github.com/orchardhq/orchard/internal/oncetest"
)

// TestLazyFirstUse: what the package builds on first use instead of at
// process start (issue 23) is built once however many goroutines ask for
// it first, and works.
func TestLazyFirstUse(t *testing.T) {
	oncetest.Shared(t, func() []any { return []any{linkAttrRe(), crcTable()} })
	if m := linkAttrRe().FindStringSubmatch(`<a href="/x/">`); m == nil || m[1] != "/x/" {
		t.Errorf("linkAttrRe on an a element: %q, want the href", m)
	}
	if got := crc32.Checksum([]byte("123456789"), crcTable()); got != 0xe3069283 {
		t.Errorf("Castagnoli CRC of the check string: %#x, want 0xe3069283", got)
	}
}
