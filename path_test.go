package orchard_test

import (
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
)

func TestCleanRequestPath(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"/", "/", true},
		{"/a/b/", "/a/b/", true},
		{"/a/b.html", "/a/b.html", true},
		{"/a//b/", "/a/b/", true},
		{"/a/./b", "/a/b", true},
		{"/a/.", "/a/", true},
		{"/%61bc", "/abc", true},
		{"/a%20b", "/a b", true},
		{"/a?x=1", "/a", true},
		{"/a?" + strings.Repeat("q", orchard.MaxPathLen), "/a", true}, // a long query, not a long path
		{"/a#" + strings.Repeat("f", orchard.MaxPathLen), "/a", true},
		{"/%3f", "/?", true}, // an encoded '?' is part of the path
		{"/" + strings.Repeat("a", orchard.MaxPathLen), "", false},
		{"/..b/", "/..b/", true},
		{"", "", false},
		{"a/b", "", false},
		{"/../etc/passwd", "", false},
		{"/a/../b", "", false},
		{"/a/..", "", false},
		{"/%2e%2e/x", "", false},
		{"/%2E%2E/x", "", false},
		{"/a%2fb", "", false},
		{"/a%2Fb", "", false},
		{"/a%5cb", "", false},
		{"/a\\b", "", false},
		{"/a%00b", "", false},
		{"/a\x00b", "", false},
		{"/a%zz", "", false},
		{"/a%2", "", false},
		{"/" + strings.Repeat("a", 2000), "", false},
	}
	for _, tt := range tests {
		got, err := orchard.CleanRequestPath(tt.in)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("CleanRequestPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if !tt.ok && err == nil {
			t.Errorf("CleanRequestPath(%q) = %q, want an error", tt.in, got)
		}
	}
}

func TestManifestKey(t *testing.T) {
	for in, want := range map[string]string{"/": "/index.html", "/a/": "/a/index.html", "/a.css": "/a.css", "/a": "/a"} {
		if got := orchard.ManifestKey(in); got != want {
			t.Errorf("ManifestKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateContentPath(t *testing.T) {
	tests := []struct {
		p   string
		dir bool
		ok  bool
	}{
		{"/", true, true},
		{"/news/", true, true},
		{"/news/hello-world_2.0/", true, true},
		{"/theme/style.css", false, true},
		{"/news", true, false},
		{"/news/", false, false},
		{"news/", true, false},
		{"/../", true, false},
		{"/a/./", true, false},
		{"/a//b/", true, false},
		{"/A/", true, false},
		{"/a b/", true, false},
		{"/a%2e/", true, false},
	}
	for _, tt := range tests {
		err := orchard.ValidateContentPath(tt.p, tt.dir)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateContentPath(%q, %v) = %v, want ok=%v", tt.p, tt.dir, err, tt.ok)
		}
	}
}

// reescape undoes the decoding of the characters CleanRequestPath gives a meaning to.
var reescape = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")

func TestIsPlainPath(t *testing.T) {
	for _, tt := range []struct {
		p    string
		want bool
	}{
		{"/", true},
		{"/news/hello/", true},
		{"/theme/style.css", true},
		{"/a-b_c~d/e.f", true},
		{"", false},
		{"news", false},
		{"//a", false},
		{"/a//b", false},
		{"/.hidden", false},
		{"/a/../b", false},
		{"/a/./b", false},
		{"/a%2fb", false},
		{"/a b", false},
		{"/a?b", false},
		{"/" + strings.Repeat("a", orchard.MaxPathLen), false},
	} {
		if got := orchard.IsPlainPath(tt.p); got != tt.want {
			t.Errorf("IsPlainPath(%q) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func FuzzCleanRequestPath(f *testing.F) {
	for _, s := range []string{"/", "/a/b/", "/%2e%2e/", "/a/../b", "/a%2fb", "/a//./b/", "/\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := orchard.CleanRequestPath(s)
		if orchard.IsPlainPath(s) && (err != nil || p != s) {
			t.Fatalf("IsPlainPath(%q), but CleanRequestPath gives %q, %v", s, p, err)
		}
		if orchard.IsPlainPath(s) != orchard.IsPlainPath([]byte(s)) {
			t.Fatalf("IsPlainPath(%q) differs for string and []byte", s)
		}
		if err != nil {
			return
		}
		if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.ContainsRune(p, 0) || strings.Contains(p, "\\") {
			t.Fatalf("CleanRequestPath(%q) = %q: not clean", s, p)
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == ".." || seg == "." {
				t.Fatalf("CleanRequestPath(%q) = %q: has a dot segment", s, p)
			}
		}
		again, err := orchard.CleanRequestPath(reescape.Replace(p))
		if err != nil || again != p {
			t.Fatalf("CleanRequestPath not stable on %q: %q, %v", p, again, err)
		}
	})
}
