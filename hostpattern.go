package orchard

import (
	"path"
	"strings"
)

// HostPattern selects sites by host name with a shell pattern, as the
// commands' --filter flags take it: "*.example.com", "blog-?.test",
// "shop[0-9].test". The empty pattern matches every host. Matching ignores
// case, like host names.
type HostPattern struct{ pattern string }

// ParseHostPattern checks a pattern's syntax.
func ParseHostPattern(s string) (HostPattern, error) {
	p := strings.ToLower(strings.TrimSpace(s))
	if strings.ContainsAny(p, "/ \t\r\n") {
		return HostPattern{}, Errorf(EINVALID, "Host pattern %q: a pattern of host names has no slashes or spaces.", s)
	}
	if _, err := path.Match(p, ""); err != nil {
		return HostPattern{}, Errorf(EINVALID, "Host pattern %q: %v.", s, err)
	}
	return HostPattern{p}, nil
}

// Match reports whether host matches the pattern.
func (p HostPattern) Match(host string) bool {
	if p.pattern == "" {
		return true
	}
	ok, _ := path.Match(p.pattern, strings.ToLower(host))
	return ok
}

// MatchSite reports whether the site's host or one of its aliases matches.
func (p HostPattern) MatchSite(s *Site) bool {
	if p.Match(s.Host) {
		return true
	}
	for _, a := range s.Aliases {
		if p.Match(a) {
			return true
		}
	}
	return false
}

// String returns the pattern as parsed.
func (p HostPattern) String() string { return p.pattern }
