package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/orchardhq/orchard"
)

// keyOfReference is what keyOf must agree with: the standard decoder, and
// orchard.ValidSHA256 for the form of the name.
func keyOfReference(sha string) ([32]byte, bool) {
	var k [32]byte
	if !orchard.ValidSHA256(sha) {
		return k, false
	}
	b, err := hex.DecodeString(sha)
	if err != nil {
		return k, false
	}
	copy(k[:], b)
	return k, true
}

func TestKeyOf(t *testing.T) {
	sum := sha256.Sum256([]byte("orchard"))
	good := hex.EncodeToString(sum[:])
	tests := []struct {
		name, sha string
		ok        bool
	}{
		{"Valid", good, true},
		{"Zeros", strings.Repeat("0", 64), true},
		{"AllF", strings.Repeat("f", 64), true},
		{"Upper", strings.ToUpper(good), false},
		{"Short", good[:63], false},
		{"Long", good + "0", false},
		{"Empty", "", false},
		{"G", "g" + good[1:], false},
		{"LastBad", good[:63] + "/", false},
		{"Dots", "../" + good[3:], false},
		{"NUL", good[:10] + "\x00" + good[11:], false},
		{"NonASCII", good[:62] + "é", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, ok := keyOf(tt.sha)
			if ok != tt.ok {
				t.Fatalf("keyOf(%q) ok = %v, want %v", tt.sha, ok, tt.ok)
			}
			if ok && !bytes.Equal(k[:], mustDecode(t, tt.sha)) {
				t.Errorf("keyOf(%q) = %x", tt.sha, k)
			}
		})
	}
	if k, _ := keyOf(good); k != sum {
		t.Errorf("keyOf(%s) = %x, want the digest", good, k)
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzKeyOf(f *testing.F) {
	sum := sha256.Sum256(nil)
	f.Add(hex.EncodeToString(sum[:]))
	f.Add(strings.Repeat("A", 64))
	f.Add("00")
	f.Fuzz(func(t *testing.T, sha string) {
		k, ok := keyOf(sha)
		rk, rok := keyOfReference(sha)
		if ok != rok || (ok && k != rk) {
			t.Fatalf("keyOf(%q) = %x, %v; reference %x, %v", sha, k, ok, rk, rok)
		}
	})
}

func BenchmarkKeyOf(b *testing.B) {
	sum := sha256.Sum256([]byte("orchard"))
	sha := hex.EncodeToString(sum[:])
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := keyOf(sha); !ok {
			b.Fatal("not ok")
		}
	}
}
