package orchard_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
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

// TestDecodeSHA256: exactly what ValidSHA256 accepts decodes, to the
// bytes encoding/hex gives.
func TestDecodeSHA256(t *testing.T) {
	good := strings.Repeat("0123456789abcdef", 4)
	for _, s := range []string{
		good, strings.Repeat("f", 64), strings.Repeat("0", 64),
		good[:63], good + "0", "", strings.ToUpper(good), good[:63] + "g", good[:10] + " " + good[11:],
	} {
		sum, ok := orchard.DecodeSHA256(s)
		if ok != orchard.ValidSHA256(s) {
			t.Errorf("DecodeSHA256(%q) ok = %v, ValidSHA256 says %v", s, ok, !ok)
			continue
		}
		if want, _ := hex.DecodeString(s); ok && !bytes.Equal(sum[:], want) {
			t.Errorf("DecodeSHA256(%q) = %x, want %x", s, sum, want)
		}
	}
}
