package balancer

import (
	"bufio"
	"context"
	"io"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orchardhq/orchard/internal/ticker"
)

// accessLog writes Apache's combined format,
//
//	%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"
//
// into a 64 KiB buffer flushed every second and at Close, so a request
// costs a formatted line and a short lock, not a write.
type accessLog struct {
	mu    sync.Mutex
	w     *bufio.Writer
	stamp atomic.Pointer[logStamp]
	err   error
}

// logStamp caches the formatted time of one second.
type logStamp struct {
	sec int64
	s   []byte
}

func newAccessLog(w io.Writer) *accessLog {
	return &accessLog{w: bufio.NewWriterSize(w, 64<<10)}
}

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// write logs one request with its response as it stands.
func (l *accessLog) write(ctx *fasthttp.RequestCtx, client netip.Addr, now time.Time) {
	req := &ctx.Request.Header
	n := 0
	if !req.IsHead() {
		n = len(ctx.Response.Body())
	}
	l.writeLine(client, now, req.Method(), req.RequestURI(), req.Protocol(), ctx.Response.StatusCode(), int64(n),
		req.Referer(), req.UserAgent())
}

// writeLine logs one request: n is the number of body bytes sent.
func (l *accessLog) writeLine(client netip.Addr, now time.Time, method, uri, proto []byte, status int, n int64, referer, ua []byte) {
	bp := linePool.Get().(*[]byte)
	b := (*bp)[:0]
	b = client.AppendTo(b)
	b = append(b, " - - "...)
	b = append(b, l.timestamp(now)...)
	b = append(b, " \""...)
	b = appendEscaped(b, method)
	b = append(b, ' ')
	b = appendEscaped(b, uri)
	b = append(b, ' ')
	b = appendEscaped(b, proto)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	if n > 0 {
		b = strconv.AppendInt(b, n, 10)
	} else {
		b = append(b, '-')
	}
	b = append(b, " \""...)
	b = appendEscapedOrDash(b, referer)
	b = append(b, "\" \""...)
	b = appendEscapedOrDash(b, ua)
	b = append(b, "\"\n"...)
	l.mu.Lock()
	if _, err := l.w.Write(b); err != nil && l.err == nil {
		l.err = err
	}
	l.mu.Unlock()
	*bp = b
	linePool.Put(bp)
}

// timestamp returns "[02/Jan/2006:15:04:05 -0700]" for now, formatted
// once per second.
func (l *accessLog) timestamp(now time.Time) []byte {
	sec := now.Unix()
	if st := l.stamp.Load(); st != nil && st.sec == sec {
		return st.s
	}
	st := &logStamp{sec: sec, s: now.AppendFormat([]byte{'['}, "02/Jan/2006:15:04:05 -0700")}
	st.s = append(st.s, ']')
	l.stamp.Store(st)
	return st.s
}

// appendEscaped appends s as Apache does: '"' and '\' escaped with a
// backslash, control and non-ASCII bytes as \xhh, so a client cannot
// forge log lines.
func appendEscaped(b, s []byte) []byte {
	const hexd = "0123456789abcdef"
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c >= 0x7f:
			b = append(b, '\\', 'x', hexd[c>>4], hexd[c&15])
		default:
			b = append(b, c)
		}
	}
	return b
}

func appendEscapedOrDash(b, s []byte) []byte {
	if len(s) == 0 {
		return append(b, '-')
	}
	return appendEscaped(b, s)
}

// flush writes out the buffer.
func (l *accessLog) flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.w.Flush(); err != nil && l.err == nil {
		l.err = err
	}
	return l.err
}

// flushLoop flushes every second until ctx ends.
func (l *accessLog) flushLoop(ctx context.Context) {
	ticker.Run(ctx, time.Second, func() { l.flush() }) // a failure is kept for Close
}
