package node

import "bytes"

// acceptsGzip reports whether an Accept-Encoding header value allows gzip:
// "gzip" (or "x-gzip") with a non-zero q, or "*" with a non-zero q when gzip
// is not named. It does not allocate.
func acceptsGzip(ae []byte) bool {
	gzip, star := -1, -1 // -1 not named, 0 refused, 1 accepted
	for len(ae) > 0 {
		var item []byte
		if i := bytes.IndexByte(ae, ','); i >= 0 {
			item, ae = ae[:i], ae[i+1:]
		} else {
			item, ae = ae, nil
		}
		coding, params := item, []byte(nil)
		if i := bytes.IndexByte(item, ';'); i >= 0 {
			coding, params = item[:i], item[i+1:]
		}
		coding = trimSpace(coding)
		v := 1
		if !qNonZero(params) {
			v = 0
		}
		switch {
		case equalFold(coding, "gzip"), equalFold(coding, "x-gzip"):
			if gzip != 0 { // a refusal stands
				gzip = v
			}
		case len(coding) == 1 && coding[0] == '*':
			star = v
		}
	}
	if gzip >= 0 {
		return gzip == 1
	}
	return star == 1
}

// qNonZero reports whether the parameters of an Accept-Encoding item leave
// q above zero (no q at all means 1).
func qNonZero(params []byte) bool {
	for len(params) > 0 {
		var p []byte
		if i := bytes.IndexByte(params, ';'); i >= 0 {
			p, params = params[:i], params[i+1:]
		} else {
			p, params = params, nil
		}
		p = trimSpace(p)
		if len(p) < 2 || (p[0] != 'q' && p[0] != 'Q') {
			continue
		}
		rest := trimSpace(p[1:])
		if len(rest) == 0 || rest[0] != '=' {
			continue
		}
		val := trimSpace(rest[1:])
		if len(val) == 0 {
			return false
		}
		if val[0] != '0' && val[0] != '1' {
			return false // malformed: treat as refusal
		}
		for _, c := range val {
			if c >= '1' && c <= '9' {
				return true
			}
			if c != '0' && c != '.' {
				return false
			}
		}
		return false
	}
	return true
}

// etagMatches reports whether an If-None-Match value names etag ("*", or a
// list of entity tags compared weakly).
func etagMatches(inm, etag []byte) bool {
	if bytes.Equal(inm, etag) {
		return true
	}
	for len(inm) > 0 {
		inm = trimSpace(inm)
		if len(inm) == 0 {
			break
		}
		if inm[0] == '*' {
			return true
		}
		if len(inm) > 2 && inm[0] == 'W' && inm[1] == '/' {
			inm = inm[2:]
		}
		if len(inm) == 0 || inm[0] != '"' {
			return false
		}
		end := bytes.IndexByte(inm[1:], '"')
		if end < 0 {
			return false
		}
		if bytes.Equal(inm[:end+2], etag) {
			return true
		}
		inm = trimSpace(inm[end+2:])
		if len(inm) > 0 && inm[0] == ',' {
			inm = inm[1:]
		}
	}
	return false
}

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
		n, good := parseUint(b)
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
		s, good := parseUint(a)
		if !good {
			return 0, 0, false, false
		}
		e := size - 1
		if len(b) > 0 {
			if e, good = parseUint(b); !good || e < s {
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

// parseUint parses a decimal of at most 18 digits.
func parseUint(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
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

// equalFold compares ASCII b to lower-case s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
