package orchard

import "bytes"

// Content negotiation shared by the node and the balancer's edge cache, so
// that both answer a request the same way.

// AcceptsGzip reports whether an Accept-Encoding header value allows gzip:
// "gzip" (or "x-gzip") with a non-zero q, or "*" with a non-zero q when gzip
// is not named. It does not allocate.
func AcceptsGzip(ae []byte) bool {
	gzip, star := -1, -1 // -1 not named, 0 refused, 1 accepted
	for len(ae) > 0 {
		var item []byte
		item, ae = CutListItem(ae)
		coding, params := item, []byte(nil)
		if i := bytes.IndexByte(item, ';'); i >= 0 {
			coding, params = item[:i], item[i+1:]
		}
		coding = bytes.TrimSpace(coding)
		v := 1
		if !qNonZero(params) {
			v = 0
		}
		switch {
		case EqualFoldASCII(coding, "gzip"), EqualFoldASCII(coding, "x-gzip"):
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
		p = bytes.TrimSpace(p)
		if len(p) < 2 || (p[0] != 'q' && p[0] != 'Q') {
			continue
		}
		rest := bytes.TrimSpace(p[1:])
		if len(rest) == 0 || rest[0] != '=' {
			continue
		}
		val := bytes.TrimSpace(rest[1:])
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

// ETagMatches reports whether an If-None-Match value names etag: "*", or a
// list of entity tags compared weakly (a W/ prefix on either side is
// ignored). It does not allocate; the node and the balancer's edge cache
// both answer conditional requests with it.
func ETagMatches(inm, etag []byte) bool {
	if bytes.Equal(inm, etag) {
		return true
	}
	etag = bytes.TrimPrefix(etag, []byte("W/"))
	for len(inm) > 0 {
		inm = bytes.TrimSpace(inm)
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
		inm = bytes.TrimSpace(inm[end+2:])
		if len(inm) > 0 && inm[0] == ',' {
			inm = inm[1:]
		}
	}
	return false
}

// CutListItem cuts the first item off a comma-separated header value: the
// item with white space trimmed, and the rest after its comma. It does not
// allocate; the balancer scans Connection and Transfer-Encoding with it.
func CutListItem(v []byte) (item, rest []byte) {
	if i := bytes.IndexByte(v, ','); i >= 0 {
		return bytes.TrimSpace(v[:i]), v[i+1:]
	}
	return bytes.TrimSpace(v), nil
}

// ParseDecimal parses a header's decimal number (a Content-Length, a byte
// range bound): 1 to 18 digits and nothing else, so it cannot overflow. The
// node, the balancer and the benchmark client read lengths with it; it does
// not allocate.
func ParseDecimal(b []byte) (int64, bool) {
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

// EqualFoldASCII reports whether b, a header name or token, equals the
// lower-case ASCII s, ignoring the case of b. It does not allocate.
func EqualFoldASCII(b []byte, s string) bool {
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
