package node

import (
	"bytes"

	"github.com/orchardhq/orchard"
)

// parseRange parses a Range header for a body of size bytes. It handles one
// range ("bytes=a-b", "bytes=a-", "bytes=-n"); ok is false when the header
// should be ignored (malformed, several ranges, other units), and
// unsatisfiable true when the one range lies beyond the body (416).
func parseRange(h []byte, size int64) (start, end int64, ok, unsatisfiable bool) {
	v, found := bytes.CutPrefix(trimSpace(h), []byte("bytes="))
	if !found || bytes.IndexByte(v, ',') >= 0 {
		return 0, 0, false, false
	}
	v = trimSpace(v)
	dash := bytes.IndexByte(v, '-')
	if dash < 0 {
		return 0, 0, false, false
	}
	a, b := trimSpace(v[:dash]), trimSpace(v[dash+1:])
	switch {
	case len(a) == 0: // suffix: the last n bytes
		n, good := orchard.ParseDecimal(b)
		if !good {
			return 0, 0, false, false
		}
		if n == 0 || size == 0 {
			return 0, 0, false, true
		}
		if n > size {
			n = size
		}
		return size - n, size - 1, true, false
	default:
		s, good := orchard.ParseDecimal(a)
		if !good {
			return 0, 0, false, false
		}
		e := size - 1
		if len(b) > 0 {
			if e, good = orchard.ParseDecimal(b); !good || e < s {
				return 0, 0, false, false
			}
		}
		if s >= size {
			return 0, 0, false, true
		}
		if e >= size {
			e = size - 1
		}
		return s, e, true, false
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
