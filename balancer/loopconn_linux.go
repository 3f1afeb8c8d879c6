//go:build linux

package balancer

import (
	"bytes"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/orchardhq/orchard"
)

// loopConn is a client connection served by a loop: one exchange at a
// time, moved on by step as its descriptors become ready.
type loopConn struct {
	fd       int
	fc       *fastConn
	at       int // index in loop.conns; -1 = none
	state    connState
	readable bool
	deadline time.Duration // on the loop's clock; 0 = none

	// The exchange in progress.
	x           *exchange
	p           *pool
	m           *member
	up          *upstream
	mc          *loopMember
	pr          pickReq
	attempts    int
	need        int // request bytes: head and body
	bodyLen     int
	begin       time.Time
	idem        bool
	isHead      bool
	closeClient bool
	canRetry    bool
	reused      bool // mc was idle before this exchange
	tries       int  // connections tried: a stale one is replaced once

	fwd     []byte  // unsent part of x.fwd
	rbuf    *[]byte // the member's response passes through it
	got     int
	out     []byte // unsent response head
	bodyOut []byte // unsent body bytes
	frame   int
	left    int64
	cs      chunkScanner
	done    bool
	reuse   bool
	res     fastResult
}

type connState uint8

const (
	stRead connState = iota // reading a request
	stDial                  // a member connection is being dialed
	stSend                  // sending the request to the member
	stHead                  // waiting for the response head
	stBody                  // passing the response on
	stGone                  // closed, or served by a goroutine
)

// step moves c on as far as it can go without waiting.
func (l *loop) step(c *loopConn) {
	for {
		var more bool
		switch c.state {
		case stRead:
			more = l.readRequest(c)
		case stSend:
			more = l.send(c)
		case stHead:
			more = l.readHead(c)
		case stBody:
			more = l.body(c)
		}
		if !more {
			return
		}
	}
}

// expire ends c at its deadline.
func (l *loop) expire(c *loopConn) {
	switch c.state {
	case stRead:
		l.closeConn(c) // idle too long, or a request too slow
	case stDial, stSend, stHead:
		l.memberFailed(c, errLoopTimeout, false)
	case stBody:
		c.res.err, c.res.keep = errLoopTimeout, false
		c.reuse = false
		l.endExchange(c)
	}
}

// errLoopTimeout is a member or client that outlived its deadline.
var errLoopTimeout error = loopTimeout{}

type loopTimeout struct{}

func (loopTimeout) Error() string   { return "i/o timeout" }
func (loopTimeout) Timeout() bool   { return true }
func (loopTimeout) Temporary() bool { return true }

// readRequest reads a request whole; true when c moved on.
func (l *loop) readRequest(c *loopConn) bool {
	fc := c.fc
	if fc.rb == nil {
		if !c.readable {
			return false
		}
		fc.rb = readBufs.Get().(*[]byte)
		fc.have = 0
	}
	buf := (*fc.rb)[:cap(*fc.rb)]
	for {
		if fc.have > 0 {
			if c.x == nil {
				c.x = exchanges.Get().(*exchange)
			}
			err := c.x.req.parse(buf[:fc.have])
			if err == nil {
				r := &c.x.req
				need := int64(r.n) + max(r.contentLength, 0)
				if max(r.contentLength, 0) > int64(l.b.opts.MaxRequestBytes) || need > int64(len(buf)) {
					l.handOff(c)
					return false
				}
				if int64(fc.have) >= need {
					c.need = int(need)
					return l.route(c, buf[:need])
				}
			} else if err != errIncomplete || fc.have == len(buf) {
				l.handOff(c) // answered (400) or read on by the goroutine path
				return false
			}
		}
		if !c.readable {
			if fc.have == 0 {
				readBufs.Put(fc.rb)
				fc.rb = nil
			}
			return false
		}
		n, e := readSome(c.fd, buf[fc.have:], &c.readable)
		switch {
		case e == unix.EAGAIN:
			continue
		case e != 0 || n == 0:
			l.closeConn(c)
			return false
		}
		if fc.have == 0 {
			c.deadline = l.now() + l.b.opts.ReadHeaderTimeout
		}
		fc.have += n
	}
}

// handOff gives c to the goroutine path before anything was counted or
// answered: it reads the request again from the bytes held.
func (l *loop) handOff(c *loopConn) {
	if c.x != nil {
		exchanges.Put(c.x)
		c.x = nil
	}
	l.toGoroutine(c, nil)
}

// route keeps what the loop serves itself: a well-formed request to a
// pool with a free member, the edge cache off. The rest goes to the
// goroutine path whole, as route (fastloop.go) would answer it.
func (l *loop) route(c *loopConn, raw []byte) bool {
	b := l.b
	x := c.x
	r := &x.req
	uri := r.uri
	path := uri
	if q := bytes.IndexByte(uri, '?'); q >= 0 {
		path = uri[:q]
	}
	t := b.table.Load()
	if t.cache != nil || t.isManagerPath(path) || uri[0] != '/' || !canonicalPath(path) ||
		bytes.HasPrefix(path, acmeChallengePrefix) || t.opts.RedirectHTTPS || string(r.method) == "CONNECT" ||
		hasReservedPrefix(path) {
		l.handOff(c)
		return false
	}
	if ct := b.acme.table.Load(); ct != nil && ct.redirects {
		l.handOff(c)
		return false
	}
	host, ok := orchard.HostKey(r.host)
	if !ok {
		l.handOff(c)
		return false
	}
	vh, _ := t.lookup(host)
	if vh == nil || vh.denied(path, c.fc.client) {
		l.handOff(c)
		return false
	}
	c.pr = pickReq{now: time.Now().UnixNano(), site: host, release: b.targetRelease(host), client: c.fc.client}
	m := vh.pool.tryAcquire(&c.pr)
	if m == nil {
		l.handOff(c) // the queue, or 503
		return false
	}
	b.stats.requests.Add(1)
	c.p, c.m = vh.pool, m
	c.isHead = string(r.method) == "HEAD"
	c.idem = c.isHead || string(r.method) == "GET"
	c.closeClient = r.close || b.fast.closing.Load()
	c.attempts = 1 + t.opts.Retries
	c.canRetry = c.idem && 1 < c.attempts && c.pr.ntried < len(c.pr.tried)
	c.begin = time.Now()
	c.tries = 0
	m.requests.Add(1)
	x.buildRequest(c.fc.client, raw[r.n:])
	c.bodyLen = len(raw) - r.n
	c.up = m.up.Load()
	c.deadline = l.now() + c.up.timeout
	l.connect(c)
	return c.state == stSend
}

// connect takes an idle connection to c's member, or dials one.
func (l *loop) connect(c *loopConn) {
	c.tries++
	if mc := l.memberConn(c.up); mc != nil {
		c.reused = true
		l.own(c, mc)
		return
	}
	c.reused = false
	l.dial(c, c.up)
}

func (l *loop) own(c *loopConn, mc *loopMember) {
	mc.owner = c
	c.mc = mc
	c.fwd = c.x.fwd
	c.state = stSend
}

// memberFailed ends an attempt that failed before the client saw a byte:
// a stale keep-alive connection is replaced once (for GET and HEAD, as
// exchangeFast does), otherwise the attempt is settled and the goroutine
// path goes on with the next member, or answers 502 or 504.
func (l *loop) memberFailed(c *loopConn, err error, stale bool) {
	l.dropMember(c)
	if stale && c.reused && c.idem && c.tries == 1 {
		l.connect(c)
		if c.state == stSend {
			l.step(c)
		}
		return
	}
	l.failed(c, fastResult{err: err})
}

// dropMember closes c's member connection and gives back the buffer its
// response came through.
func (l *loop) dropMember(c *loopConn) {
	if c.mc != nil {
		l.closeMember(c.mc)
		c.mc = nil
	}
	if c.rbuf != nil {
		respBufs.Put(c.rbuf)
		c.rbuf = nil
	}
}

// failed settles the loop's attempt (res: nothing was passed on) and
// gives the connection to the goroutine path for the next.
func (l *loop) failed(c *loopConn, res fastResult) {
	b := l.b
	fc, x, p, m := c.fc, c.x, c.p, c.m
	c.m, c.x = nil, nil
	pr := &c.pr
	start := 1
	if b.settle(fc, x, p, pr, m, res, c.begin, time.Since(c.begin), c.bodyLen, c.idem, 0, c.attempts) == giveUp {
		start = c.attempts
	}
	bodyLen, idem, isHead, closeClient, need := c.bodyLen, c.idem, c.isHead, c.closeClient, c.need
	t := b.table.Load()
	l.toGoroutine(c, func() bool {
		keep := b.forwardFrom(fc, x, t, p, pr, bodyLen, idem, isHead, false, closeClient, start, res.err)
		exchanges.Put(x)
		rb := (*fc.rb)[:cap(*fc.rb)]
		fc.have = copy(rb, rb[need:fc.have])
		return keep
	})
}

// send writes the request to the member.
func (l *loop) send(c *loopConn) bool {
	for len(c.fwd) > 0 {
		n, e := rawWrite(uintptr(c.mc.fd), c.fwd)
		switch e {
		case 0:
			c.fwd = c.fwd[n:]
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			l.memberFailed(c, e, e == unix.EPIPE || e == unix.ECONNRESET)
			return false
		}
	}
	c.state = stHead
	c.rbuf = respBufs.Get().(*[]byte)
	c.got = 0
	return true
}

// readHead reads the member's response head, and starts passing it on.
func (l *loop) readHead(c *loopConn) bool {
	mc := c.mc
	buf := *c.rbuf
	h := &c.x.resp
	for {
		if !mc.readable {
			return false
		}
		n, e := readSome(mc.fd, buf[c.got:], &mc.readable)
		switch {
		case e == unix.EAGAIN:
			continue
		case e != 0:
			l.memberFailed(c, e, c.got == 0 && (e == unix.ECONNRESET || e == unix.EPIPE))
			return false
		case n == 0:
			l.memberFailed(c, errMemberClosed, c.got == 0)
			return false
		}
		c.got += n
		perr := h.parse(buf[:c.got])
		for perr == nil && h.status < 200 {
			if h.status == 101 {
				l.memberFailed(c, errRespHead, false)
				return false
			}
			c.got = copy(buf, buf[h.n:c.got]) // 1xx: informational, dropped
			perr = h.parse(buf[:c.got])
		}
		if perr == nil {
			break
		}
		if perr != errIncomplete || c.got == len(buf) {
			l.memberFailed(c, errRespHead, false)
			return false
		}
	}
	c.frame = h.framing(c.isHead)
	if c.frame == bodyLength && h.contentLength > c.up.maxBody {
		l.memberFailed(c, errRespTooLarge, false)
		return false
	}
	if c.canRetry && c.p.failOn[h.status] {
		l.dropMember(c)
		l.failed(c, fastResult{status: h.status})
		return false
	}
	b := l.b
	b.observe(c.m, c.pr.site, h.release, c.begin.UnixNano())
	c.closeClient = c.closeClient || c.frame == bodyClose || b.fast.closing.Load()
	c.x.buildResponse(false, c.closeClient)
	c.res = fastResult{status: h.status, written: true, keep: !c.closeClient}
	c.out = c.x.out
	c.reuse = !h.close
	c.left = h.contentLength
	c.cs = chunkScanner{}
	c.done = false
	c.state = stBody
	c.deadline = l.now() + min(c.up.timeout, b.opts.WriteTimeout) - time.Since(c.begin)
	l.frameBody(c, buf[h.n:c.got]) // the body bytes read with the head go in the same write
	return true
}

// errMemberClosed is a member connection closed before a response.
var errMemberClosed = unix.ECONNRESET

// frameBody takes body bytes read from the member into c.bodyOut.
func (l *loop) frameBody(c *loopConn, body []byte) {
	switch c.frame {
	case bodyNone:
		c.reuse = c.reuse && len(body) == 0
		body, c.done = nil, true
	case bodyLength:
		if int64(len(body)) >= c.left {
			c.reuse = c.reuse && int64(len(body)) == c.left
			body, c.left, c.done = body[:c.left], 0, true
		} else {
			c.left -= int64(len(body))
		}
	case bodyChunked:
		k, end, err := c.cs.scan(body)
		if err != nil {
			c.res.err, c.res.keep, c.reuse, c.done = errRespHead, false, false, true
			body = nil
		} else {
			c.reuse = c.reuse && k == len(body)
			body, c.done = body[:k], end
		}
	case bodyClose:
		c.reuse = false
	}
	c.res.n += int64(len(body))
	if c.res.n > c.up.maxBody {
		c.res.err, c.res.keep, c.reuse, c.done = errRespTooLarge, false, false, true
		body = nil
	}
	c.bodyOut = body
}

// body writes c.out and c.bodyOut to the client, reading more from the
// member as the client takes it.
func (l *loop) body(c *loopConn) bool {
	for {
		if len(c.out)+len(c.bodyOut) > 0 {
			n, e := l.writev(c.fd, c.out, c.bodyOut)
			switch e {
			case 0:
				k := min(n, len(c.out))
				c.out = c.out[k:]
				c.bodyOut = c.bodyOut[n-k:]
				continue
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false
			default: // the client went away
				c.res.keep, c.reuse, c.done = false, false, true
				c.out, c.bodyOut = nil, nil
			}
		}
		if c.done {
			l.endExchange(c)
			return c.state == stRead
		}
		mc := c.mc
		if !mc.readable {
			return false
		}
		buf := *c.rbuf
		n, e := readSome(mc.fd, buf, &mc.readable)
		switch {
		case e == unix.EAGAIN:
			continue
		case e == 0 && n == 0 && c.frame == bodyClose:
			c.done = true
			continue
		case e != 0 || n == 0:
			c.res.err, c.res.keep, c.reuse, c.done = errMemberClosed, false, false, true
			if e != 0 {
				c.res.err = e
			}
			continue
		}
		l.frameBody(c, buf[:n])
	}
}

// readSome reads what fd has into p. Edge-triggered epoll tells of new
// bytes only once, so *readable records whether more may be waiting: not
// after EAGAIN, nor after a read that did not fill p.
func readSome(fd int, p []byte, readable *bool) (int, unix.Errno) {
	for {
		n, e := rawRead(uintptr(fd), p)
		switch {
		case e == unix.EINTR:
			continue
		case e == unix.EAGAIN, e == 0 && n < len(p):
			*readable = false
		}
		return n, e
	}
}

func (l *loop) writev(fd int, a, b []byte) (int, unix.Errno) {
	if len(b) == 0 {
		return rawWrite(uintptr(fd), a)
	}
	if len(a) == 0 {
		return rawWrite(uintptr(fd), b)
	}
	l.iov[0].Base, l.iov[1].Base = &a[0], &b[0]
	l.iov[0].SetLen(len(a))
	l.iov[1].SetLen(len(b))
	n, _, e := unix.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&l.iov[0])), 2)
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}

// endExchange settles a response passed on (whole or not), keeps the
// member connection if it is clean, and waits for the client's next
// request or closes.
func (l *loop) endExchange(c *loopConn) {
	b := l.b
	if mc := c.mc; mc != nil {
		c.mc = nil
		if c.reuse && c.res.err == nil {
			l.putMember(mc)
		} else {
			l.closeMember(mc)
		}
	}
	respBufs.Put(c.rbuf)
	c.rbuf = nil
	if c.isHead {
		c.res.n = 0
	}
	m := c.m
	c.m = nil
	b.settle(c.fc, c.x, c.p, &c.pr, m, c.res, c.begin, time.Since(c.begin), c.bodyLen, c.idem, 0, c.attempts)
	b.fast.loopServed.Add(1)
	exchanges.Put(c.x)
	// What an idle connection keeps must not point into pooled buffers.
	c.x, c.p, c.up = nil, nil, nil
	c.fwd, c.out, c.bodyOut, c.pr = nil, nil, nil, pickReq{}
	if !c.res.keep {
		l.closeConn(c)
		return
	}
	fc := c.fc
	rb := (*fc.rb)[:cap(*fc.rb)]
	fc.have = copy(rb, rb[c.need:fc.have])
	c.state = stRead
	if fc.have > 0 {
		c.deadline = l.now() + b.opts.ReadHeaderTimeout
	} else {
		c.deadline = l.now() + b.opts.IdleTimeout
		if !c.readable {
			readBufs.Put(fc.rb)
			fc.rb = nil
		}
	}
}
