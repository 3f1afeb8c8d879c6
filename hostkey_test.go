package orchard_test

import (
	"bytes"
	"testing"

	orchard "github.com/orchardhq/orchard"
)

func TestHostKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a.test", "a.test"},
		{"a.test:8080", "a.test"},
		{"A.Test.", "a.test"},
		{"a.test.:80", "a.test"},
		{"127.0.0.1:8000", "127.0.0.1"},
		{"[::1]:8000", "[::1]"},
		{"bücher.test", "xn--bcher-kva.test"},
		{"a..test", ""},
		{"-a.test", ""},
		{"a.test:", ""},
		{"a.test:x", ""},
		{"a b", ""},
		{"[::1", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := orchard.HostKey([]byte(tt.in))
		if string(got) != tt.want || ok != (tt.want != "") {
			t.Errorf("orchard.HostKey(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func FuzzHostKey(f *testing.F) {
	for _, s := range []string{"a.test", "A.test:80", "[::1]:1", "bücher.test", "a..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got, ok := orchard.HostKey([]byte(h))
		if !ok {
			return
		}
		if bytes.ContainsAny(got, " /\\@?#") || len(got) == 0 {
			t.Fatalf("orchard.HostKey(%q) = %q", h, got)
		}
	})
}
