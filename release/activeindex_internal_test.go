package release

import (
	"maps"
	"testing"
)

func FuzzParseActiveIndex(f *testing.F) {
	f.Add(encodeActiveIndex(map[string]pointer{
		"a.test":     {id: "0123456789abcdef", stamp: fileStamp{ino: 12, mtime: 1.7e18, size: 17}},
		"www.b.test": {id: "fedcba9876543210", stamp: fileStamp{ino: 1 << 40, mtime: -1, size: 17}},
		"young.test": {id: "fedcba9876543210"},
	}))
	f.Add(encodeActiveIndex(nil))
	f.Add([]byte("orchard active index 1\na.test 0123456789abcdef 1 2 3\nsum 00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseActiveIndex(data)
		if err != nil {
			return
		}
		// What parses is what encoding it again gives back.
		again, err := parseActiveIndex(encodeActiveIndex(got))
		if err != nil {
			t.Fatalf("re-encoded index does not parse: %v", err)
		}
		if !maps.Equal(got, again) {
			t.Fatalf("round trip changed the index: %v, then %v", got, again)
		}
		for h, p := range got {
			if h == "" || p.stamp == (fileStamp{}) {
				t.Fatalf("parsed an entry without a host or stamp: %q %+v", h, p)
			}
		}
	})
}
