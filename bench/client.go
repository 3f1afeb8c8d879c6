package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/orchardhq/orchard"
)

// readBufferSize is each connection's read buffer: big enough that a typical
// 8-10 KB page arrives in one read.
const readBufferSize = 16 << 10

// maxHeaderLines bounds the header lines of one response.
const maxHeaderLines = 256

// errMalformed marks a response that is not valid HTTP/1.x.
var errMalformed = errors.New("malformed HTTP response")

// endpoint is one server the targets name, resolved once before the run.
type endpoint struct {
	addr string      // host:port to dial
	tls  *tls.Config // nil for plain http
}

// request is a Target prepared for the wire.
type request struct {
	ep   int    // index into the endpoints
	wire []byte // the whole request, sent with one write
	head bool   // a HEAD request: the response has no body
}

// response is what readResponse learned about one response.
type response struct {
	status int
	body   int64 // body bytes read (after chunked decoding)
	close  bool  // the connection cannot carry another request
}

// conn is one client connection with its reused read buffer.
type conn struct {
	nc net.Conn
	br *bufio.Reader
}

// buildRequest renders t as HTTP/1.1 bytes, once, before the run.
func buildRequest(t Target, host string, headers []Header, keepAlive bool) ([]byte, error) {
	u, err := parseTargetURL(t.URL)
	if err != nil {
		return nil, err
	}
	method := t.Method
	if method == "" {
		method = "GET"
	}
	if host == "" {
		host = u.Host
	}
	var b strings.Builder
	b.WriteString(method)
	b.WriteByte(' ')
	b.WriteString(u.RequestURI())
	b.WriteString(" HTTP/1.1\r\nHost: ")
	b.WriteString(host)
	b.WriteString("\r\n")
	has := func(name string) bool {
		for _, h := range headers {
			if strings.EqualFold(h.Name, name) {
				return true
			}
		}
		return false
	}
	if !has("User-Agent") {
		b.WriteString("User-Agent: " + DefaultUserAgent + "\r\n")
	}
	if !has("Accept") {
		b.WriteString("Accept: */*\r\n")
	}
	for _, h := range headers {
		if strings.EqualFold(h.Name, "Host") {
			continue
		}
		b.WriteString(h.Name)
		b.WriteString(": ")
		b.WriteString(h.Value)
		b.WriteString("\r\n")
	}
	if !keepAlive {
		b.WriteString("Connection: close\r\n")
	}
	if t.Body != nil {
		if !has("Content-Type") {
			ct := t.ContentType
			if ct == "" {
				ct = DefaultContentType
			}
			b.WriteString("Content-Type: " + ct + "\r\n")
		}
		b.WriteString("Content-Length: " + strconv.Itoa(len(t.Body)) + "\r\n")
	}
	b.WriteString("\r\n")
	b.Write(t.Body)
	return []byte(b.String()), nil
}

// resolve finds the address to dial for a URL's host and port. Names under
// .localhost go to loopback without asking DNS (orchard.IsLoopbackName), as
// in probe and browsers, so the demo's alpha.localhost works.
func resolve(ctx context.Context, hostname, port string) (string, error) {
	if ip := net.ParseIP(hostname); ip != nil {
		return net.JoinHostPort(hostname, port), nil
	}
	if orchard.IsLoopbackName(hostname) {
		return orchard.LoopbackDialAddr(net.JoinHostPort(hostname, port)), nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, hostname)
	if err == nil && len(addrs) == 0 {
		err = fmt.Errorf("no addresses")
	}
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", hostname, err)
	}
	pick := addrs[0].IP
	for _, a := range addrs {
		if a.IP.To4() != nil {
			pick = a.IP
			break
		}
	}
	return net.JoinHostPort(pick.String(), port), nil
}

// readResponse reads one response from br into resp, discarding the body.
// started reports whether any byte of the response arrived: a reused
// connection that fails before that was closed by the server while idle.
func readResponse(br *bufio.Reader, head bool, resp *response) (started bool, err error) {
	if _, err := br.Peek(1); err != nil {
		return false, err
	}
	for interim := 0; ; interim++ {
		if interim > 8 {
			return true, fmt.Errorf("%w: too many 1xx responses", errMalformed)
		}
		*resp = response{}
		chunked, length, err := readHead(br, resp)
		if err != nil {
			return true, err
		}
		code := resp.status
		if code >= 100 && code < 200 {
			if code == 101 {
				return true, fmt.Errorf("%w: unexpected 101 Switching Protocols", errMalformed)
			}
			continue
		}
		switch {
		case head || code == 204 || code == 304:
		case chunked:
			resp.body, err = readChunked(br)
		case length >= 0:
			var n int
			n, err = br.Discard(int(length))
			resp.body = int64(n)
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
		default:
			// No length: the body ends when the server closes.
			resp.body, err = readToEOF(br)
			resp.close = true
		}
		return true, err
	}
}

// readHead reads the status line and headers. length is -1 when the response
// gives no usable Content-Length; a Transfer-Encoding other than chunked also
// makes the body close-delimited.
func readHead(br *bufio.Reader, resp *response) (chunked bool, length int64, err error) {
	line, err := readLine(br)
	if err != nil {
		return false, 0, err
	}
	// "HTTP/1.1 200 OK": version, space, three digits, then space or end.
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return false, 0, fmt.Errorf("%w: status line %q", errMalformed, truncate(line))
	}
	minor := line[7]
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return false, 0, fmt.Errorf("%w: status line %q", errMalformed, truncate(line))
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 || code > 599 {
		return false, 0, fmt.Errorf("%w: status %d", errMalformed, code)
	}
	resp.status = code
	resp.close = minor == '0'
	length = -1
	otherEncoding := false
	for n := 0; ; n++ {
		if n > maxHeaderLines {
			return false, 0, fmt.Errorf("%w: more than %d header lines", errMalformed, maxHeaderLines)
		}
		line, err := readLine(br)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return false, 0, err
		}
		if len(line) == 0 {
			break
		}
		colon := -1
		for i, c := range line {
			if c == ':' {
				colon = i
				break
			}
		}
		if colon <= 0 {
			return false, 0, fmt.Errorf("%w: header line %q", errMalformed, truncate(line))
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		switch {
		case orchard.EqualFoldASCII(name, "content-length"):
			v, ok := orchard.ParseDecimal(value)
			if !ok || (length >= 0 && v != length) {
				return false, 0, fmt.Errorf("%w: Content-Length %q", errMalformed, truncate(value))
			}
			length = v
		case orchard.EqualFoldASCII(name, "transfer-encoding"):
			// The final coding decides: chunked, or the body runs to close.
			last := value
			for i := len(value) - 1; i >= 0; i-- {
				if value[i] == ',' {
					last = trimOWS(value[i+1:])
					break
				}
			}
			chunked = orchard.EqualFoldASCII(last, "chunked")
			otherEncoding = !chunked
		case orchard.EqualFoldASCII(name, "connection"):
			for rest := value; len(rest) > 0; {
				var tok []byte
				tok, rest = nextToken(rest)
				switch {
				case orchard.EqualFoldASCII(tok, "close"):
					resp.close = true
				case orchard.EqualFoldASCII(tok, "keep-alive") && minor == '0':
					resp.close = false
				}
			}
		}
	}
	if chunked || otherEncoding {
		length = -1
	}
	return chunked, length, nil
}

// readChunked discards a chunked body and its trailers, returning the size of
// the decoded body.
func readChunked(br *bufio.Reader) (int64, error) {
	var total int64
	for {
		line, err := readLine(br)
		if err != nil {
			return total, unexpectedEOF(err)
		}
		size, ok := parseChunkSize(line)
		if !ok {
			return total, fmt.Errorf("%w: chunk size %q", errMalformed, truncate(line))
		}
		if size == 0 {
			for n := 0; ; n++ {
				line, err := readLine(br)
				if err != nil {
					return total, unexpectedEOF(err)
				}
				if len(line) == 0 {
					return total, nil
				}
				if n > maxHeaderLines {
					return total, fmt.Errorf("%w: too many trailers", errMalformed)
				}
			}
		}
		n, err := br.Discard(int(size))
		total += int64(n)
		if err != nil {
			return total, unexpectedEOF(err)
		}
		line, err = readLine(br)
		if err != nil {
			return total, unexpectedEOF(err)
		}
		if len(line) != 0 {
			return total, fmt.Errorf("%w: no CRLF after chunk", errMalformed)
		}
	}
}

// readToEOF discards everything until the server closes the connection.
func readToEOF(br *bufio.Reader) (int64, error) {
	var total int64
	for {
		if n := br.Buffered(); n > 0 {
			br.Discard(n)
			total += int64(n)
		}
		if _, err := br.Peek(1); err != nil {
			if err == io.EOF {
				return total, nil
			}
			return total, err
		}
	}
}

// readLine returns the next line without its CRLF (or bare LF). The slice is
// only valid until the next read.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			return nil, fmt.Errorf("%w: line longer than %d bytes", errMalformed, br.Size())
		}
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// nextToken returns the first element of a comma-separated header value,
// trimmed, and the rest after its comma.
func nextToken(b []byte) (tok, rest []byte) {
	for i, c := range b {
		if c == ',' {
			return trimOWS(b[:i]), b[i+1:]
		}
	}
	return trimOWS(b), nil
}

// parseChunkSize parses "1a2b[;ext]": up to 15 hex digits.
func parseChunkSize(line []byte) (int64, bool) {
	for i, c := range line {
		if c == ';' || c == ' ' || c == '\t' {
			line = line[:i]
			break
		}
	}
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var v int64
	for _, c := range line {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | int64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | int64(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | int64(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// truncate shortens b for an error message.
func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}

// dialer opens connections to endpoints.
type dialer struct {
	net     net.Dialer
	timeout time.Duration
}

// dial connects to ep, doing the TLS handshake for https, and reuses br's
// memory when given one.
func (d *dialer) dial(ctx context.Context, ep endpoint, br *bufio.Reader) (*conn, error) {
	nc, err := d.net.DialContext(ctx, "tcp", ep.addr)
	if err != nil {
		return nil, err
	}
	if ep.tls != nil {
		tc := tls.Client(nc, ep.tls)
		if d.timeout > 0 {
			tc.SetDeadline(time.Now().Add(d.timeout))
		}
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	if br == nil {
		br = bufio.NewReaderSize(nc, readBufferSize)
	} else {
		br.Reset(nc)
	}
	return &conn{nc: nc, br: br}, nil
}
