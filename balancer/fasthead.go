package balancer

import (
	"bytes"
	"errors"

	"github.com/orchardhq/orchard"
)

// The heads of requests and responses as the fast loop (fastloop.go) reads
// them: parsed in place, in the buffer they were read into, in one pass
// that also notes every header the proxy must drop or look at. Anything
// the fast loop leaves to fasthttp (other HTTP versions, transfer codings
// of requests, Expect, Upgrade, bare LF line ends) is reported as slow,
// not parsed further: fasthttp answers it as before.

// Outcomes of parsing a head besides success.
var (
	errIncomplete = errors.New("head incomplete")
	errMalformed  = errors.New("malformed head")
	errSlow       = errors.New("left to the slow path")
)

const maxFastHeaders = 64 // more headers than this go the slow way

// span is a header line in the head's buffer: name buf[k0:k1], value
// buf[v0:v1] (without surrounding white space), the line buf[k0:end]
// including its CRLF.
type span struct {
	k0, k1, v0, v1, end int32
	flags               int32 // headerFlags of the name, with fDrop for headers the proxy removes
}

// fDrop marks a header line the proxy does not pass on.
const fDrop = 1 << 20

// head is what both kinds of head share.
type head struct {
	buf     []byte // the bytes parsed; spans index it
	n       int    // length of the head, blank line included
	hdrs    []span // into hdrsBuf
	hdrsBuf [maxFastHeaders]span
	flags   int // union of the header lines' flags

	contentLength int64 // -1: none
	chunked       bool  // Transfer-Encoding ends in chunked (responses)
	close         bool  // Connection: close
}

func (h *head) name(s *span) []byte  { return h.buf[s.k0:s.k1] }
func (h *head) value(s *span) []byte { return h.buf[s.v0:s.v1] }

// get returns the value of the first header named name ("" if none).
func (h *head) get(name string) []byte {
	for i := range h.hdrs {
		if eqFold(h.name(&h.hdrs[i]), name) {
			return h.value(&h.hdrs[i])
		}
	}
	return nil
}

// reqHead is a parsed request head.
type reqHead struct {
	head
	method, uri []byte
	host        []byte // the Host header's value as sent
	nhost       int
}

// respHead is a parsed response head.
type respHead struct {
	head
	status  int
	release []byte // X-Orchard-Release
}

// parseRequest parses the request head at the start of buf. It returns
// errIncomplete when buf holds no whole head yet, errMalformed for a head
// no HTTP/1.1 server may accept (400), errSlow for one the fast loop
// leaves to fasthttp.
func (r *reqHead) parse(buf []byte) error {
	line, rest, err := firstLine(buf)
	if err != nil {
		return err
	}
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return errMalformed
	}
	r.method = line[:sp1]
	for _, c := range r.method {
		if !tokenChar(c) {
			return errMalformed
		}
	}
	sp2 := bytes.IndexByte(line[sp1+1:], ' ')
	if sp2 <= 0 {
		return errMalformed
	}
	r.uri = line[sp1+1 : sp1+1+sp2]
	for _, c := range r.uri {
		if c <= ' ' || c == 0x7f {
			return errMalformed
		}
	}
	proto := line[sp1+2+sp2:]
	if string(proto) != "HTTP/1.1" {
		if len(proto) == 8 && string(proto[:5]) == "HTTP/" {
			return errSlow // HTTP/1.0 and its keep-alive rules: fasthttp's
		}
		return errMalformed
	}
	r.host, r.nhost = nil, 0
	if err := r.head.parseFields(buf, len(line)+2, rest); err != nil {
		return err
	}
	if r.flags&(fSlowReq) != 0 {
		return errSlow
	}
	for i := range r.hdrs {
		s := &r.hdrs[i]
		if eqFold(r.name(s), "Host") {
			r.host = r.value(s)
			r.nhost++
		}
	}
	if r.nhost != 1 {
		return errSlow
	}
	return nil
}

// parse parses the response head at the start of buf, as parseRequest
// does; a head that is not HTTP/1.x is malformed (the member failed).
func (r *respHead) parse(buf []byte) error {
	line, rest, err := firstLine(buf)
	if err != nil {
		return err
	}
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return errMalformed
	}
	st := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return errMalformed
		}
		st = st*10 + int(c-'0')
	}
	if st < 100 {
		return errMalformed
	}
	r.status = st
	if err := r.head.parseFields(buf, len(line)+2, rest); err != nil {
		return err
	}
	if line[7] == '0' {
		r.close = r.close || !r.keepAlive10()
	}
	r.release = nil
	for i := range r.hdrs {
		if s := &r.hdrs[i]; s.flags&fXOrchard != 0 && eqFold(r.name(s), "X-Orchard-Release") {
			r.release = r.value(s)
		}
	}
	return nil
}

// keepAlive10 reports whether an HTTP/1.0 response asked to keep the
// connection open.
func (r *respHead) keepAlive10() bool {
	for i := range r.hdrs {
		if s := &r.hdrs[i]; s.flags&fConnection != 0 && hasToken(r.value(s), "keep-alive") {
			return true
		}
	}
	return false
}

// firstLine returns the first line of buf (without CRLF) and what follows.
func firstLine(buf []byte) (line, rest []byte, err error) {
	i := bytes.IndexByte(buf, '\n')
	if i < 0 {
		return nil, nil, errIncomplete
	}
	if i == 0 || buf[i-1] != '\r' {
		return nil, nil, errSlow // bare LF: fasthttp's leniency
	}
	return buf[:i-1], buf[i+1:], nil
}

// Flags beyond request.go's header flags.
const (
	fContentLength = 1 << (16 + iota)
	fTransferEnc
	fExpect
	fSlowReq = fTransferEnc | fExpect | fUpgrade | fConnTokens
)

// parseFields parses header lines from rest (which starts at offset off
// of buf) up to the blank line.
func (h *head) parseFields(buf []byte, off int, rest []byte) error {
	h.buf = buf
	h.hdrs = h.hdrsBuf[:0]
	h.flags = 0
	h.contentLength = -1
	h.chunked, h.close = false, false
	for {
		if len(rest) == 0 {
			return errIncomplete
		}
		if rest[0] == '\r' {
			if len(rest) < 2 {
				return errIncomplete
			}
			if rest[1] != '\n' {
				return errMalformed
			}
			h.n = off + 2
			return nil
		}
		if rest[0] == '\n' {
			return errSlow
		}
		if rest[0] == ' ' || rest[0] == '\t' {
			return errMalformed // obs-fold
		}
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return errIncomplete
		}
		if rest[i-1] != '\r' {
			return errSlow
		}
		line := rest[:i-1]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return errMalformed
		}
		for _, c := range line[:colon] {
			if !tokenChar(c) {
				return errMalformed // white space before the colon, too
			}
		}
		v0, v1 := colon+1, len(line)
		for v0 < v1 && (line[v0] == ' ' || line[v0] == '\t') {
			v0++
		}
		for v1 > v0 && (line[v1-1] == ' ' || line[v1-1] == '\t') {
			v1--
		}
		for _, c := range line[v0:v1] {
			if c < ' ' && c != '\t' || c == 0x7f {
				return errMalformed
			}
		}
		if len(h.hdrs) == maxFastHeaders {
			return errSlow
		}
		k, v := line[:colon], line[v0:v1]
		f := headerFlags(k, v)
		switch {
		case f != 0:
			if f&fConnection != 0 && hasToken(v, "close") {
				h.close = true
			}
		case eqFold(k, "Content-Length"):
			n, ok := orchard.ParseDecimal(v)
			if !ok || (h.contentLength >= 0 && h.contentLength != n) {
				return errSlow // fasthttp answers these as it always did
			}
			h.contentLength = n
			f = fContentLength
		case eqFold(k, "Transfer-Encoding"):
			f = fTransferEnc
			h.chunked = lastTokenChunked(v)
		case eqFold(k, "Expect"):
			f = fExpect
		}
		h.flags |= f
		h.hdrs = append(h.hdrs, span{k0: int32(off), k1: int32(off + colon), v0: int32(off + v0), v1: int32(off + v1),
			end: int32(off + i + 1), flags: int32(f)})
		off += i + 1
		rest = rest[i+1:]
	}
}

// lastTokenChunked reports whether a Transfer-Encoding value's last coding
// is chunked.
func lastTokenChunked(v []byte) bool {
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return eqFold(bytes.TrimSpace(v), "chunked")
}

// hasToken reports whether a comma-separated value lists tok (any case).
func hasToken(v []byte, tok string) bool {
	for len(v) > 0 {
		t := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			t, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if eqFold(bytes.TrimSpace(t), tok) {
			return true
		}
	}
	return false
}

// tokenChar reports whether c may appear in an RFC 9110 token.
func tokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c > ' ' && c < 0x7f && bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0
}

// connNamed reports whether the Connection headers of h list name, so
// that the header must not be passed on (never Host).
func (h *head) connNamed(name []byte) bool {
	if eqFold(name, "host") {
		return false
	}
	for i := range h.hdrs {
		s := &h.hdrs[i]
		if s.flags&fConnection == 0 {
			continue
		}
		v := h.value(s)
		for len(v) > 0 {
			t := v
			if i := bytes.IndexByte(v, ','); i >= 0 {
				t, v = v[:i], v[i+1:]
			} else {
				v = nil
			}
			if t = bytes.TrimSpace(t); len(t) == len(name) && bytes.EqualFold(t, name) {
				return true
			}
		}
	}
	return false
}

// Response framing: how the body of a response ends.
const (
	bodyNone    = iota // HEAD, 1xx, 204, 304
	bodyLength         // Content-Length bytes
	bodyChunked        // chunked coding, up to the last chunk and trailers
	bodyClose          // until the member closes the connection
)

// framing returns how the body of r ends, r being the answer to a request
// with method head (true for HEAD).
func (r *respHead) framing(headReq bool) int {
	switch {
	case headReq || r.status < 200 || r.status == 204 || r.status == 304:
		return bodyNone
	case r.flags&fTransferEnc != 0:
		if r.chunked {
			return bodyChunked
		}
		return bodyClose
	case r.contentLength >= 0:
		return bodyLength
	}
	return bodyClose
}

// chunkScanner follows the chunked coding of a body passed through as it
// is, to find where it ends.
type chunkScanner struct {
	state int   // csSize, csData, csDataCRLF, csTrailer
	left  int64 // bytes of chunk data (csData) still to come
	line  int   // length of the size or trailer line seen so far
	size  int64
	sized bool // the size line had a digit
	ext   bool // in a chunk extension
	cr    bool
	empty bool // the trailer line so far is empty
}

const (
	csSize = iota
	csData
	csDataCRLF
	csTrailer
	csDone
)

const maxChunkLine = 4096

// scan consumes p; it returns how many bytes belong to the body (all of p
// unless the body ended inside it) and whether the body is complete.
func (s *chunkScanner) scan(p []byte) (n int, done bool, err error) {
	for n < len(p) {
		switch s.state {
		case csData:
			k := int64(len(p) - n)
			if k > s.left {
				k = s.left
			}
			n += int(k)
			if s.left -= k; s.left == 0 {
				s.state, s.line = csDataCRLF, 0
			}
			continue
		case csDone:
			return n, true, nil
		}
		c := p[n]
		n++
		if s.line++; s.line > maxChunkLine {
			return n, false, errMalformed
		}
		switch s.state {
		case csSize:
			switch {
			case c == '\n':
				if !s.cr || !s.sized {
					return n, false, errMalformed
				}
				if s.size == 0 {
					s.state, s.line, s.empty = csTrailer, 0, true
				} else {
					s.state, s.left = csData, s.size
				}
				s.size, s.sized, s.ext, s.cr = 0, false, false, false
			case s.cr:
				return n, false, errMalformed
			case c == '\r':
				s.cr = true
			case s.ext:
			case c == ';' || c == ' ' || c == '\t':
				s.ext = true
			default:
				d := unhex(c)
				if d < 0 || s.size > 1<<40 {
					return n, false, errMalformed
				}
				s.size, s.sized = s.size<<4|int64(d), true
			}
		case csDataCRLF:
			switch {
			case s.line == 1 && c == '\r':
			case s.line == 2 && c == '\n':
				s.state, s.line = csSize, 0
			default:
				return n, false, errMalformed
			}
		case csTrailer:
			switch {
			case c == '\n':
				if !s.cr {
					return n, false, errMalformed
				}
				if s.empty {
					s.state = csDone
					return n, true, nil
				}
				s.line, s.empty, s.cr = 0, true, false
			case s.cr:
				return n, false, errMalformed
			case c == '\r':
				s.cr = true
			default:
				s.empty = false
			}
		}
	}
	return n, s.state == csDone, nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
