package release

import (
	"hash/crc32"
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
		wg.Go(func() { got[i] = []any{linkAttrRe(), crcTable()} })
	}
	wg.Wait()
	for i := range got {
		for j := range got[i] {
			if got[i][j] != got[0][j] {
				t.Fatalf("value %d: goroutine %d got %p, goroutine 0 %p: built more than once", j, i, got[i][j], got[0][j])
			}
		}
	}
	if m := linkAttrRe().FindStringSubmatch(`<a href="/x/">`); m == nil || m[1] != "/x/" {
		t.Errorf("linkAttrRe on an a element: %q, want the href", m)
	}
	if got := crc32.Checksum([]byte("123456789"), crcTable()); got != 0xe3069283 {
		t.Errorf("Castagnoli CRC of the check string: %#x, want 0xe3069283", got)
	}
}
