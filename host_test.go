package orchard_test

import (
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
)

func TestNormalizeHost(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"example.com", "example.com", true},
		{"Example.COM", "example.com", true},
		{"example.com.", "example.com", true},
		{"example.com:8080", "example.com", true},
		{"alpha.localhost:8000", "alpha.localhost", true},
		{"bücher.example", "xn--bcher-kva.example", true},
		{"a-b.test", "a-b.test", true},
		{"", "", false},
		{"../etc", "", false},
		{"a/b", "", false},
		{"a b.com", "", false},
		{"a\x00b.com", "", false},
		{`"quoted".com`, "", false},
		{"a'b.com", "", false},
		{"-a.com", "", false},
		{"a-.com", "", false},
		{"a..com", "", false},
		{"..", "", false},
		{".", "", false},
		{"a_b.com", "", false},
		{"example.com:", "", false},
		{"example.com:abc", "", false},
		{strings.Repeat("a", 64) + ".com", "", false},
		{strings.Repeat("a", 63) + ".com", strings.Repeat("a", 63) + ".com", true},
		{strings.Repeat("a.", 130) + "com", "", false},
		{strings.Repeat("x", 10000), "", false},
		{"%2e%2e", "", false},
	}
	for _, tt := range tests {
		got, err := orchard.NormalizeHost(tt.in)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if !tt.ok {
			if err == nil {
				t.Errorf("NormalizeHost(%q) = %q, want an error", tt.in, got)
			} else if orchard.ErrorCode(err) != orchard.EINVALID {
				t.Errorf("NormalizeHost(%q) error code = %q, want EINVALID", tt.in, orchard.ErrorCode(err))
			}
		}
	}
}

func TestTablePrefix(t *testing.T) {
	seen := map[string]string{}
	hosts := []string{"a-b.test", "a.b-test", "a.b.test", "ab.test", "a--b.test", "a-b-test",
		strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61),
		strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("e", 61),
		"xn--bcher-kva.example", "example.com"}
	for _, h := range hosts {
		if _, err := orchard.NormalizeHost(h); err != nil {
			t.Fatalf("test host %q invalid: %v", h, err)
		}
		p := orchard.TablePrefix(h)
		if other, ok := seen[p]; ok {
			t.Errorf("TablePrefix(%q) = TablePrefix(%q) = %q", h, other, p)
		}
		seen[p] = h
		if len(p)+len("_categories") > 64 {
			t.Errorf("TablePrefix(%q) = %q is too long for MySQL", h, p)
		}
		for _, c := range p {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
				t.Errorf("TablePrefix(%q) = %q has %q", h, p, c)
			}
		}
	}
	if got := orchard.TablePrefix("a-b.test"); got != "s_a__b_test" {
		t.Errorf("TablePrefix(a-b.test) = %q", got)
	}
}

func FuzzNormalizeHost(f *testing.F) {
	for _, s := range []string{"example.com", "Ex.com:80", "../etc", "a\x00", "bücher.de", "a..b", "[::1]:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := orchard.NormalizeHost(s)
		if err != nil {
			return
		}
		if len(h) > orchard.MaxHostLen || strings.ContainsAny(h, "/\\.:\x00 ") && strings.ContainsAny(h, "/\\:\x00 ") {
			t.Fatalf("NormalizeHost(%q) = %q: unsafe result", s, h)
		}
		if strings.Contains(h, "..") || strings.HasPrefix(h, ".") {
			t.Fatalf("NormalizeHost(%q) = %q: empty label", s, h)
		}
		again, err := orchard.NormalizeHost(h)
		if err != nil || again != h {
			t.Fatalf("NormalizeHost not idempotent on %q: %q, %v", h, again, err)
		}
	})
}

func TestLoopbackDialAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"localhost:80", "127.0.0.1:80"},
		{"alpha.localhost:8000", "127.0.0.1:8000"},
		{"Alpha.LocalHost.:8000", "127.0.0.1:8000"},
		{"a.b.localhost:1", "127.0.0.1:1"},
		{"example.com:80", "example.com:80"},
		{"notlocalhost:80", "notlocalhost:80"},
		{"localhost.example.com:80", "localhost.example.com:80"},
		{"10.0.0.1:80", "10.0.0.1:80"},
		{"[::1]:80", "[::1]:80"},
		{"no-port", "no-port"},
	}
	for _, tt := range tests {
		if got := orchard.LoopbackDialAddr(tt.in); got != tt.want {
			t.Errorf("LoopbackDialAddr(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
