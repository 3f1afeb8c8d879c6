package orchard_test

import (
	"fmt"
	"testing"

	"github.com/orchardhq/orchard"
)

func ExampleFormatBytes() {
	for _, n := range []int64{0, 1023, 1024, 1536, 20 << 20, 3<<30 + 200<<20} {
		fmt.Println(orchard.FormatBytes(n))
	}
	// Output:
	// 0 B
	// 1023 B
	// 1.0 KiB
	// 1.5 KiB
	// 20.0 MiB
	// 3.2 GiB
}

func TestHexDigit(t *testing.T) {
	tests := map[byte]byte{'0': 0, '9': 9, 'a': 10, 'f': 15, 'A': 0xff, 'F': 0xff, 'g': 0xff, '/': 0xff, ':': 0xff, '`': 0xff, 0: 0xff, 0xff: 0xff}
	for c, want := range tests {
		if got := orchard.HexDigit(c); got != want {
			t.Errorf("HexDigit(%q) = %#x, want %#x", c, got, want)
		}
	}
}
