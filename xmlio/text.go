package xmlio

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Version is the format version Export writes and Decode reads.
const Version = "1"

// LockedPasswordHash is the password hash a user gets when imported from a
// file without secrets: no password matches it.
const LockedPasswordHash = "!locked"

// xmlSafe reports whether s can be written as XML 1.0 character data: valid
// UTF-8 made only of characters XML allows.
func xmlSafe(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return false
		}
		if !(r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return false
		}
		i += size
	}
	return true
}

// textEscaper escapes element content. Carriage returns are escaped because
// XML parsers turn literal ones into line feeds.
var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")

// attrEscaper escapes attribute values, including the white space an XML
// parser would otherwise normalise.
var attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;",
	"\t", "&#x9;", "\n", "&#xA;", "\r", "&#xD;")

// formatTime renders t as stored: RFC 3339 in UTC with nanoseconds, or ""
// for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// isSpace reports whether b holds only XML white space.
func isSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}
