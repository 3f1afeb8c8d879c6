package orchard_test

import (
	"slices"
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

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"42", 42, true}, {"999999999999999999", 999999999999999999, true},
		{"", 0, false}, {"1000000000000000000", 0, false}, {"-1", 0, false}, {"+1", 0, false}, {"1 ", 0, false}, {"0x1", 0, false},
	}
	for _, tt := range tests {
		got, ok := orchard.ParseDecimal([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseDecimal(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
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
