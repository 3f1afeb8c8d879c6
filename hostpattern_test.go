package orchard_test

import (
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
