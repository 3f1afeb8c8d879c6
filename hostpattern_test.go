package orchard_test

import (
	"path"
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
)

func TestHostPattern(t *testing.T) {
	site := &orchard.Site{Host: "blog.example.com", Aliases: []string{"www.blog.test"}}
	tests := []struct {
		pattern string
		host    string
		want    bool
	}{
		{"", "anything.test", true},
		{"*.example.com", "blog.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.EXAMPLE.com", "Blog.Example.Com", true},
		{"blog-?.test", "blog-1.test", true},
		{"blog-?.test", "blog-12.test", false},
		{"shop[0-9].test", "shop7.test", true},
		{"shop[0-9].test", "shopx.test", false},
		{"alpha.localhost", "alpha.localhost", true},
		{"alpha.localhost", "alpha-localhost", false},
	}
	for _, tt := range tests {
		p, err := orchard.ParseHostPattern(tt.pattern)
		if err != nil {
			t.Fatalf("ParseHostPattern(%q): %v", tt.pattern, err)
		}
		if got := p.Match(tt.host); got != tt.want {
			t.Errorf("%q.Match(%q) = %v, want %v", tt.pattern, tt.host, got, tt.want)
		}
	}
	for _, pattern := range []string{"www.blog.*", "*.example.com"} {
		if p, _ := orchard.ParseHostPattern(pattern); !p.MatchSite(site) {
			t.Errorf("%q does not match the site by host or alias", pattern)
		}
	}
	if p, _ := orchard.ParseHostPattern("*.org"); p.MatchSite(site) {
		t.Error("*.org matches blog.example.com")
	}
	for _, bad := range []string{"[a-", "a/b", "a b", "x\\"} {
		if _, err := orchard.ParseHostPattern(bad); orchard.ErrorCode(err) != orchard.EINVALID {
			t.Errorf("ParseHostPattern(%q) = %v, want EINVALID", bad, err)
		}
	}
}

func TestHostPatternSQL(t *testing.T) {
	tests := []struct{ pattern, glob, like string }{
		{"", "*", "%"},
		{"*.example.com", "*.example.com", "%.example.com"},
		{"blog-?.test", "blog-?.test", "blog-_.test"},
		{"shop[0-9].test", "shop?.test", "shop_.test"},
		{"shop[^\\]a].test", "shop?.test", "shop_.test"},
		{"a\\*b", "a?b", "a_b"},
		{"x_y%z", "x_y%z", "x\\_y\\%z"},
	}
	for _, tt := range tests {
		p, err := orchard.ParseHostPattern(tt.pattern)
		if err != nil {
			t.Fatalf("ParseHostPattern(%q): %v", tt.pattern, err)
		}
		if got := p.Glob(); got != tt.glob {
			t.Errorf("%q.Glob() = %q, want %q", tt.pattern, got, tt.glob)
		}
		if got := p.Like(); got != tt.like {
			t.Errorf("%q.Like() = %q, want %q", tt.pattern, got, tt.like)
		}
	}
}

func FuzzHostPatternSQL(f *testing.F) {
	for _, c := range [][2]string{{"*.example.com", "a.example.com"}, {"shop[^\\]a].test", "shopb.test"}, {"a\\*b", "a*b"}, {"[[]", "["}} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, pattern, host string) {
		p, err := orchard.ParseHostPattern(pattern)
		if err != nil || strings.Contains(host, "/") || !p.Match(host) {
			return
		}
		// The wider pattern has only "*", "?" and plain bytes, which
		// path.Match reads as GLOB does: it must match what p matches.
		if ok, err := path.Match(p.Glob(), strings.ToLower(host)); !ok || err != nil {
			t.Errorf("%q matches %q but its GLOB %q does not (%v)", pattern, host, p.Glob(), err)
		}
	})
}
