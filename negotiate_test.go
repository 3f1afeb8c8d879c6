package orchard_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/orchardhq/orchard"
)

func TestAcceptsGzip(t *testing.T) {
	tests := map[string]bool{
		"": false, "gzip": true, "GZip": true, "GZIP": true, "x-gzip": true, "gzip;q=0": false, "gzip; q=0.000": false,
		"gzip;q=0.001": true, "gzip;q=0.5": true, "gzip;q=1.0": true, "*": true, "*;q=0": false, "br": false, "br, *;q=0.1": true,
		"gzip;q=0, *": false, "*, gzip;q=0": false, "deflate, gzip;q=0.5": true, "deflate, gzip": true, " gzip ,": true,
		"gzip;q=": false, "gzip;q=abc": false, "identity": false, "gzip;level=1": true,
		// q after another parameter: the balancer read it as q=1 and the
		// node as q=0 before they shared one rule.
		"gzip;level=1;q=0": false, "gzip; level=1; q=0.5": true, "*;foo=bar;q=0": false,
	}
	for in, want := range tests {
		if got := orchard.AcceptsGzip([]byte(in)); got != want {
			t.Errorf("AcceptsGzip(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestETagMatches(t *testing.T) {
	for _, tc := range []struct {
		inm, etag string
		want      bool
	}{
		{`"a"`, `"a"`, true},
		{`"b"`, `"a"`, false},
		{`*`, `"a"`, true},
		{`"b", "a"`, `"a"`, true},
		{`W/"a"`, `"a"`, true},
		{`"a"`, `W/"a"`, true},
		{`W/"a"`, `W/"a"`, true},
		{`"a`, `"a"`, false},
		{``, `"a"`, false},
		{`a`, `"a"`, false},
	} {
		if got := orchard.ETagMatches([]byte(tc.inm), []byte(tc.etag)); got != tc.want {
			t.Errorf("ETagMatches(%q, %q) = %v, want %v", tc.inm, tc.etag, got, tc.want)
		}
	}
}

func TestCutListItem(t *testing.T) {
	var got []string
	for v := []byte(" a ,b,, \tc\t"); len(v) > 0; {
		var item []byte
		item, v = orchard.CutListItem(v)
		got = append(got, string(item))
	}
	if want := []string{"a", "b", "", "c"}; !slices.Equal(got, want) {
		t.Errorf("items %q, want %q", got, want)
	}
}

func TestEqualFoldASCII(t *testing.T) {
	// Each header name or token against "content-length".
	tests := map[string]bool{"Content-Length": true, "CONTENT-LENGTH": true, "content-length": true,
		"content-lengt": false, "content-length ": false, "": false}
	for in, want := range tests {
		if got := orchard.EqualFoldASCII([]byte(in), "content-length"); got != want {
			t.Errorf("EqualFoldASCII(%q, %q) = %v, want %v", in, "content-length", got, want)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	// -1: refused.
	tests := map[string]int64{"0": 0, "8912": 8912, "999999999999999999": 999999999999999999,
		"1000000000000000000": -1, "": -1, "+1": -1, "-1": -1, " 1": -1, "1a": -1}
	for in, want := range tests {
		got, ok := orchard.ParseDecimal([]byte(in))
		if !ok {
			got = -1
		}
		if got != want {
			t.Errorf("ParseDecimal(%q) = %d, want %d (-1: refused)", in, got, want)
		}
	}
}

// FuzzParseDecimal holds ParseDecimal to strconv on the inputs it accepts.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "42", "999999999999999999", "1e3", "+1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		n, ok := orchard.ParseDecimal([]byte(v))
		if !ok {
			return
		}
		if want, err := strconv.ParseInt(v, 10, 64); err != nil || n != want || n < 0 {
			t.Errorf("ParseDecimal(%q) = %d, strconv says %d, %v", v, n, want, err)
		}
	})
}

func FuzzAcceptEncoding(f *testing.F) {
	for _, s := range []string{"gzip", "gzip;q=0", "*;q=0.5, br", "x-gzip;Q=1", "gzip;level=1;q=0", `W/"x", "y"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		orchard.AcceptsGzip([]byte(v)) // must not panic
		orchard.ETagMatches([]byte(v), []byte(`"x"`))
	})
}
