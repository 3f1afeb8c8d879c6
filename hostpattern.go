package orchard

import (
	"path"
	"strings"
	"unicode/utf8"
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

// Filter returns the sites MatchSite selects, in their order.
func (p HostPattern) Filter(sites []*Site) []*Site {
	var out []*Site
	for _, s := range sites {
		if p.MatchSite(s) {
			out = append(out, s)
		}
	}
	return out
}

// String returns the pattern as parsed.
func (p HostPattern) String() string { return p.pattern }

// Glob returns an SQL GLOB pattern (SQLite) that matches every host the
// pattern matches, and perhaps more: escapes and character classes become
// "?". Stores narrow a search with it and then check each site with
// MatchSite, so the two syntaxes need not agree on their corners.
func (p HostPattern) Glob() string { return p.wider("*", "?", nil) }

// Like returns an SQL LIKE pattern, with \ as its escape character, that
// matches every host the pattern matches, and perhaps more (see Glob).
func (p HostPattern) Like() string {
	return p.wider("%", "_", func(b *strings.Builder, c byte) {
		if c == '%' || c == '_' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	})
}

// wider writes the pattern with many for "*", one for "?", escapes and
// classes, and literal (nil: as is) for the other bytes.
func (p HostPattern) wider(many, one string, literal func(*strings.Builder, byte)) string {
	if p.pattern == "" {
		return many
	}
	var b strings.Builder
	s := p.pattern
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*':
			b.WriteString(many)
		case '?':
			b.WriteString(one)
		case '\\':
			// The escape takes a whole rune, which may be several bytes.
			_, n := utf8.DecodeRuneInString(s[i+1:])
			i += n
			b.WriteString(one)
		case '[':
			// ParseHostPattern checked the class is closed; an escaped
			// "]" inside does not close it.
			for i++; i < len(s) && s[i] != ']'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
			b.WriteString(one)
		default:
			if literal == nil {
				b.WriteByte(c)
			} else {
				literal(&b, c)
			}
		}
	}
	return b.String()
}
