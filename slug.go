package orchard

import (
	"net/url"
	"strings"
)

// Slug makes s (a title, or a segment of an old URL, percent-encoded or
// not) a path segment orchard accepts: lower-case letters, digits, '_',
// and one '-' for each run of anything else ("My Post!" -> "my-post"),
// at most 100 bytes. Apostrophes vanish ("Don't" -> "dont"). It returns ""
// when nothing is left.
func Slug(s string) string { return slug(s, false) }

// FileSlug is Slug for a file name: dots are kept (".css", "a.b.png"),
// and "." and ".." give "".
func FileSlug(s string) string { return slug(s, true) }

func slug(s string, dots bool) string {
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || dots && r == '.':
			b.WriteRune(r)
			dash = false
		case r == '\'' || r == '\u2019':
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if len(out) > 100 {
		out = strings.TrimSuffix(out[:100], "-")
	}
	if out == "." || out == ".." {
		return ""
	}
	return out
}
