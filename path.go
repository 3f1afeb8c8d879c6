package orchard

import (
	"strings"
)

// MaxPathLen is the longest request or content path accepted, in bytes.
const MaxPathLen = 1024

// CleanRequestPath decodes and checks the path of a request URI (the escaped
// form, as in url.URL.EscapedPath or the raw request line) and returns its
// canonical form: percent-escapes decoded, "." segments and repeated slashes
// removed, a trailing slash kept. It refuses, with an EINVALID *Error, a path
// that does not start with "/", has a ".." segment, an encoded slash or
// backslash, a NUL or control character, or a malformed escape. The result is
// a lookup key, never a file name.
func CleanRequestPath(raw string) (string, error) {
	if raw == "" || raw[0] != '/' {
		return "", Errorf(EINVALID, "Path must start with '/'.")
	}
	// The query and fragment are not the path: a short path with a long
	// query is no long path.
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	if len(raw) > MaxPathLen {
		return "", Errorf(EINVALID, "Path is longer than %d bytes.", MaxPathLen)
	}
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '%' {
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return "", Errorf(EINVALID, "Path has a malformed escape.")
			}
			c = unhex(raw[i+1])<<4 | unhex(raw[i+2])
			i += 2
			if c == '/' || c == '\\' {
				return "", Errorf(EINVALID, "Path has an encoded slash.")
			}
		}
		if c < 0x20 || c == 0x7f {
			return "", Errorf(EINVALID, "Path has a control character.")
		}
		if c == '\\' {
			return "", Errorf(EINVALID, "Path has a backslash.")
		}
		b.WriteByte(c)
	}
	return cleanSegments(b.String())
}

// cleanSegments drops empty and "." segments and refuses "..".
func cleanSegments(p string) (string, error) {
	if !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		return p, nil // the common case: nothing to clean, no allocation
	}
	trailing := strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.")
	var out []string
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			return "", Errorf(EINVALID, "Path has a '..' segment.")
		default:
			out = append(out, seg)
		}
	}
	s := "/" + strings.Join(out, "/")
	if trailing && s != "/" {
		s += "/"
	}
	return s, nil
}

// ManifestKey maps a clean request path to the key its content has in a
// release manifest: a directory path names its index.html.
func ManifestKey(clean string) string {
	if strings.HasSuffix(clean, "/") {
		return clean + "index.html"
	}
	return clean
}

// ValidateContentPath checks a path an editor gives a page, a category or an
// asset: it starts with "/", and each segment is made only of lower-case
// letters, digits, '-', '_' and '.', and is neither "." nor "..". dir says
// whether the path must end with "/" (pages and categories) or must not
// (assets). It returns an EINVALID *Error naming what is wrong.
func ValidateContentPath(p string, dir bool) error {
	if p == "" || p[0] != '/' {
		return Errorf(EINVALID, "Path %q must start with '/'.", p)
	}
	if len(p) > 512 {
		return Errorf(EINVALID, "Path is longer than 512 bytes.")
	}
	if dir != strings.HasSuffix(p, "/") {
		if dir {
			return Errorf(EINVALID, "Path %q must end with '/'.", p)
		}
		return Errorf(EINVALID, "Path %q must not end with '/'.", p)
	}
	if p == "/" {
		return nil
	}
	body := strings.TrimSuffix(p[1:], "/")
	for _, seg := range strings.Split(body, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return Errorf(EINVALID, "Path %q has an empty, '.' or '..' segment.", p)
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
				return Errorf(EINVALID, "Path %q may hold only lower-case letters, digits, '-', '_', '.' and '/'.", p)
			}
		}
	}
	return nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// IsPlainPath reports whether p is a path CleanRequestPath leaves as it is,
// checked without decoding or allocating: "/" then only letters, digits,
// '-', '_', '~', '.' and single slashes, no segment starting with '.', at
// most MaxPathLen bytes. Anything else takes the full check.
func IsPlainPath[P ~string | ~[]byte](p P) bool {
	if len(p) == 0 || p[0] != '/' || len(p) > MaxPathLen {
		return false
	}
	prev := byte('/')
	for i := 1; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '~':
		case c == '/' || c == '.':
			if prev == '/' {
				return false
			}
		default:
			return false
		}
		prev = c
	}
	return true
}
