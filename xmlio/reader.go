package xmlio

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	orchard "github.com/orchardhq/orchard"
)

// Limits bound what Decode accepts, so a hostile or broken file cannot
// exhaust memory. Zero fields take their defaults.
type Limits struct {
	// MaxBytes is the largest file, in bytes (default 4 GiB).
	MaxBytes int64
	// MaxTokenBytes is the largest single tag or text run, and the largest
	// text of one element, in bytes (default 32 MiB: room for a 16 MiB
	// asset in base64, and for a 4 MiB page body however it is escaped).
	MaxTokenBytes int64
	// MaxElements is the most elements the file may hold (default 1,000,000).
	MaxElements int
	// MaxTagBytes is the largest tag (a start tag with its attributes, an
	// end tag, a processing instruction), in bytes (default 64 KiB). It is
	// kept small because a tag of many tiny attributes costs far more
	// memory decoded than read.
	MaxTagBytes int64
}

// Default limits.
const (
	DefaultMaxBytes      = 4 << 30
	DefaultMaxTokenBytes = 32 << 20
	DefaultMaxElements   = 1_000_000
	DefaultMaxTagBytes   = 64 << 10
)

func (l Limits) withDefaults() Limits {
	l.MaxBytes = orchard.OrDefault(l.MaxBytes, DefaultMaxBytes)
	l.MaxTokenBytes = orchard.OrDefault(l.MaxTokenBytes, DefaultMaxTokenBytes)
	l.MaxElements = orchard.OrDefault(l.MaxElements, DefaultMaxElements)
	l.MaxTagBytes = orchard.OrDefault(l.MaxTagBytes, DefaultMaxTagBytes)
	return l
}

// progressStep is how many bytes are read between two progress reports.
const progressStep = 256 << 10

// limitError is returned by limitReader when a limit stops the read.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

// limitReader counts every byte the XML decoder reads and refuses to read
// past the file limit, or past the token or tag limit counted from the
// start of the current token. It is an io.ByteReader, so encoding/xml reads
// from it byte by byte and the counts are exact.
type limitReader struct {
	r        *bufio.Reader
	n        int64 // bytes read so far
	mark     int64 // n when the current token started
	maxToken int64
	maxTag   int64
	maxTotal int64

	last  byte // the last byte read
	markp bool // the token began with a '<' read (and put back) before mark
	kind  byte // 't' text or comment/CDATA, 'm' tag, 0 not known yet
}

// startToken marks the start of a token. A token that follows text begins
// with the '<' that ended the text: the decoder read it and put it back.
// Every other token ends with '>', never reading ahead.
func (l *limitReader) startToken() {
	l.mark = l.n
	l.markp = l.n > 0 && l.last == '<'
	l.kind = 0
}

func (l *limitReader) ReadByte() (byte, error) {
	if l.n >= l.maxTotal {
		return 0, &limitError{"the file is larger than the limit of " + sizeString(l.maxTotal)}
	}
	k := l.n - l.mark
	if k >= l.maxToken {
		return 0, &limitError{"element is larger than the limit of " + sizeString(l.maxToken)}
	}
	if l.kind == 'm' && k >= l.maxTag {
		return 0, &limitError{"tag is larger than the limit of " + sizeString(l.maxTag)}
	}
	b, err := l.r.ReadByte()
	if err != nil {
		return b, err
	}
	l.n++
	l.last = b
	if l.kind == 0 {
		switch {
		case l.markp: // the byte after '<'
			l.kind = 'm'
			if b == '!' {
				l.kind = 't'
			}
		case k == 0 && b != '<':
			l.kind = 't'
		case k == 1:
			l.kind = 'm'
			if b == '!' {
				l.kind = 't'
			}
		}
	}
	return b, nil
}

// Read is never called by encoding/xml (it uses ReadByte); it is here to
// satisfy io.Reader, within the same limits.
func (l *limitReader) Read(p []byte) (int, error) {
	for i := range p {
		b, err := l.ReadByte()
		if err != nil {
			return i, err
		}
		p[i] = b
	}
	return len(p), nil
}

// charsetError refuses an encoding other than UTF-8.
type charsetError struct{ label string }

func (e *charsetError) Error() string { return "unsupported encoding " + e.label }

// frame is an open element, for error messages.
type frame struct {
	desc string // e.g. `page path="/news/"`
	line int    // line of its start tag
}

// reader turns the decoder's tokens into the few the importer cares about,
// enforcing the limits and the format's rules on the way.
type reader struct {
	ctx      context.Context
	d        *xml.Decoder
	in       *limitReader
	lim      Limits
	progress func(int64)
	next     int64 // report progress when in.n passes it
	tokens   int
	elements int
	stack    []frame
}

func newReader(ctx context.Context, in io.Reader, lim Limits, progress func(int64)) *reader {
	br := bufio.NewReaderSize(in, 64<<10)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3) // a UTF-8 byte order mark
	}
	lr := &limitReader{r: br, maxToken: lim.MaxTokenBytes, maxTag: lim.MaxTagBytes, maxTotal: lim.MaxBytes}
	d := xml.NewDecoder(lr)
	d.Strict = true
	d.CharsetReader = func(label string, _ io.Reader) (io.Reader, error) {
		if strings.EqualFold(label, "utf-8") || strings.EqualFold(label, "utf8") {
			return lr, nil
		}
		return nil, &charsetError{label}
	}
	return &reader{ctx: ctx, d: d, in: lr, lim: lim, progress: progress}
}

// line returns the line the decoder has reached.
func (r *reader) line() int {
	l, _ := r.d.InputPos()
	return l
}

// errAt returns an EINVALID error for the element desc at line.
func errAt(line int, desc, format string, args ...any) error {
	// Messages quote what they take from the file; this also keeps any raw
	// control character (a terminal escape) that a parser message may
	// carry off the user's screen.
	msg := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, fmt.Sprintf(format, args...))
	if desc == "" {
		return orchard.Errorf(orchard.EINVALID, "line %d: %s", line, msg)
	}
	return orchard.Errorf(orchard.EINVALID, "line %d: <%s>: %s", line, desc, msg)
}

// errf returns an EINVALID error naming the current line and the innermost
// open element.
func (r *reader) errf(format string, args ...any) error {
	return r.errAtTop(r.line(), format, args...)
}

// errAtTop returns an EINVALID error naming line and the innermost open
// element.
func (r *reader) errAtTop(line int, format string, args ...any) error {
	return errAt(line, r.top().desc, format, args...)
}

// elemErr returns an EINVALID error naming the innermost open element and
// the line its start tag begins on.
func (r *reader) elemErr(format string, args ...any) error {
	f := r.top()
	return errAt(f.line, f.desc, format, args...)
}

// readErr turns a decoder error into one naming line and element.
func (r *reader) readErr(err error) error {
	var le *limitError
	var se *xml.SyntaxError
	var ce *charsetError
	switch {
	case errors.As(err, &le):
		return r.errf("%s", le.msg)
	case errors.As(err, &se):
		if se.Msg == "unexpected EOF" {
			return r.errf("the file ends before the element is closed (is it truncated?)")
		}
		desc := ""
		if len(r.stack) > 0 {
			desc = r.stack[len(r.stack)-1].desc
		}
		return errAt(se.Line, desc, "%s", se.Msg)
	case errors.Is(err, io.EOF):
		return err
	case errors.As(err, &ce):
		return r.errf("the file must be encoded in UTF-8, not %q", ce.label)
	case strings.HasPrefix(err.Error(), "xml: "):
		return r.errf("%s", strings.TrimPrefix(err.Error(), "xml: "))
	default:
		return fmt.Errorf("read XML: %w", err)
	}
}

// token returns the next start element, end element or character data,
// skipping comments and refusing DTDs, processing instructions and
// namespaces. It returns io.EOF only at the end of a well-formed file.
// CharData is valid until the next call.
func (r *reader) token() (xml.Token, error) {
	for {
		r.in.startToken()
		start := r.line()
		tok, err := r.d.Token()
		if err != nil {
			return nil, r.readErr(err)
		}
		r.tokens++
		if r.tokens%64 == 0 {
			if err := r.ctx.Err(); err != nil {
				return nil, err
			}
		}
		if r.progress != nil && r.in.n >= r.next {
			r.progress(r.in.n)
			r.next = r.in.n + progressStep
		}
		switch t := tok.(type) {
		case xml.Comment:
			continue
		case xml.Directive:
			word, _, _ := strings.Cut(string(t), " ")
			return nil, r.errAtTop(start, "<!%.20s ...> is not allowed: the format has no DTD or entity declarations", word)
		case xml.ProcInst:
			if t.Target == "xml" && r.tokens == 1 {
				continue
			}
			return nil, r.errAtTop(start, "processing instruction <?%.20s?> is not allowed", t.Target)
		case xml.StartElement:
			r.stack = append(r.stack, frame{desc: describe(t), line: start})
			r.elements++
			if r.elements > r.lim.MaxElements {
				return nil, r.elemErr("the file has more than the limit of %d elements", r.lim.MaxElements)
			}
			if t.Name.Space != "" {
				return nil, r.elemErr("namespaces are not allowed")
			}
			return t, nil
		case xml.EndElement:
			if len(r.stack) > 0 {
				r.stack = r.stack[:len(r.stack)-1]
			}
			return t, nil
		case xml.CharData:
			return t, nil
		}
	}
}

// describe names an element for error messages by its name and its key
// attribute, e.g. `page path="/news/"`.
func describe(t xml.StartElement) string {
	for _, key := range []string{"path", "name", "host", "from"} {
		for _, a := range t.Attr {
			if a.Name.Space == "" && a.Name.Local == key {
				v := a.Value
				if len(v) > 80 {
					v = v[:80] + "..."
				}
				return fmt.Sprintf("%s %s=%q", t.Name.Local, key, v)
			}
		}
	}
	return t.Name.Local
}

// top returns the innermost open element.
func (r *reader) top() frame {
	if len(r.stack) == 0 {
		return frame{}
	}
	return r.stack[len(r.stack)-1]
}

// attrs returns the attributes of t by name, refusing any not in allowed,
// any given twice and any namespaced one.
func (r *reader) attrs(t xml.StartElement, allowed ...string) (map[string]string, error) {
	m := make(map[string]string, len(t.Attr))
	for _, a := range t.Attr {
		if a.Name.Space != "" || a.Name.Local == "xmlns" {
			return nil, r.elemErr("namespaces are not allowed")
		}
		ok := false
		for _, name := range allowed {
			ok = ok || name == a.Name.Local
		}
		if !ok {
			return nil, r.elemErr("unknown attribute %q", a.Name.Local)
		}
		if _, dup := m[a.Name.Local]; dup {
			return nil, r.elemErr("attribute %q is given twice", a.Name.Local)
		}
		m[a.Name.Local] = a.Value
	}
	return m, nil
}

// children calls fn with each child element of the element just started,
// until its end. fn must read its element through its end. Text other than
// white space between children is an error.
func (r *reader) children(fn func(t xml.StartElement) error) error {
	for {
		tok, err := r.token()
		if err != nil {
			if err == io.EOF {
				return r.errf("the file ends before the element is closed (is it truncated?)")
			}
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := fn(t); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		case xml.CharData:
			if !isSpace(t) {
				return r.errf("unexpected text %q", snippet(t))
			}
		}
	}
}

// empty reads the element just started, which must have no content but
// white space.
func (r *reader) empty() error {
	return r.children(func(t xml.StartElement) error {
		return r.errf("unexpected element <%s>", t.Name.Local)
	})
}

// rawText reads the text content of the element just started, through its
// end, within MaxTokenBytes.
func (r *reader) rawText() (string, error) {
	var b strings.Builder
	for {
		tok, err := r.token()
		if err != nil {
			if err == io.EOF {
				return "", r.errf("the file ends before the element is closed (is it truncated?)")
			}
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return "", r.errf("text elements cannot hold elements")
		case xml.EndElement:
			return b.String(), nil
		case xml.CharData:
			if int64(b.Len()+len(t)) > r.lim.MaxTokenBytes {
				return "", r.errf("element is larger than the limit of %s", sizeString(r.lim.MaxTokenBytes))
			}
			b.Write(t)
		}
	}
}

// text reads a text element just started as t: its content exactly, or
// decoded from base64 when it says encoding="base64".
func (r *reader) text(t xml.StartElement) (string, error) {
	a, err := r.attrs(t, "encoding")
	if err != nil {
		return "", err
	}
	enc, has := a["encoding"]
	if has && enc != "base64" {
		return "", r.errf("encoding must be base64")
	}
	f := r.top()
	s, err := r.rawText()
	if err != nil || !has {
		return s, err
	}
	data, err := decodeBase64(s)
	if err != nil {
		return "", errAt(f.line, f.desc, "%s", err.Error())
	}
	return string(data), nil
}

// decodeBase64 decodes standard base64 with padding, ignoring white space.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, s)
	data, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.New("invalid base64 content")
	}
	return data, nil
}

// parseTime reads an RFC 3339 time; "" is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time %q (want RFC 3339, e.g. 2026-01-04T17:15:00Z)", snippet([]byte(s)))
	}
	return t.UTC(), nil
}

// snippet shortens b for an error message.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

// sizeString formats a limit in bytes, in MiB when it is a whole number of them.
func sizeString(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
