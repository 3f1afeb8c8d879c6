package balancer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orchardhq/orchard"
)

// The fast loop serves the plain listener's HTTP/1.1 connections without
// fasthttp's request and response objects: it reads a request head into a
// pooled buffer, applies the same rules as handle (vhosts, deny patterns,
// access lists, members' health, weights and releases, retries, the edge
// cache's hits), sends the head and body to a member over a pooled
// keep-alive connection in one write, and passes the member's response
// back as it comes, rewriting only its head. Through fasthttp, a proxied
// page was parsed into objects, copied twice and written out again, which
// cost more CPU than HAProxy spends on the whole request.
//
// Requests the loop reads whole but does not answer itself (non-canonical
// or absolute targets, ACME challenges, HTTPS redirects, edge-cache
// misses, which fill the cache) are answered by the slow path's handler
// with fasthttp's objects for that request only (serveOnce). What it
// cannot read goes to fasthttp's server, with the bytes read so far, for
// the rest of the connection's life: other HTTP versions, request
// transfer codings, Expect, Upgrade, heads or bodies larger than a read
// buffer, and the manager. It decides before it answers, so a request is
// served by one path or the other, never by both.

// fastConns tracks the fast loop's connections, for MaxConns and Close.
type fastConns struct {
	mu      sync.Mutex
	conns   map[*fastConn]struct{} // c is nil while an event loop owns the connection
	closing atomic.Bool
	wg      sync.WaitGroup
	loops   *loops // nil: a goroutine per connection

	// What the event loops answered themselves, and the connections
	// they handed to a goroutine.
	loopServed, loopHanded atomic.Uint64
}

// forget ends the tracking of a closed connection.
func (f *fastConns) forget(fc *fastConn) {
	f.mu.Lock()
	delete(f.conns, fc)
	f.mu.Unlock()
	f.wg.Done()
}

// fastConn is one client connection served by the fast loop.
type fastConn struct {
	c      *deferConn
	client netip.Addr
	idle   atomic.Bool // waiting for a request: Close may close it
	dl     deadlines
	rb     *[]byte // request bytes (*rb)[:have]; nil while idle
	have   int
}

// exchange is the per-request state of the fast loop, pooled so that an
// idle connection's goroutine keeps a small stack.
type exchange struct {
	req  reqHead
	resp respHead
	fwd  []byte // the request as sent to members
	out  []byte // a response head
}

var exchanges = sync.Pool{New: func() any { return &exchange{fwd: make([]byte, 0, 2048), out: make([]byte, 0, 2048)} }}

// respBufs hold members' responses while they pass through.
var respBufs = sync.Pool{New: func() any { b := make([]byte, respBufSize); return &b }}

const respBufSize = 32 << 10

// acceptFast accepts the plain listener's connections until ln is closed,
// for the event loops (f.loops) or a goroutine each. slow is fasthttp's
// listener, for connections the fast loop gives up.
func (b *Balancer) acceptFast(ln net.Listener, slow *connQueue) {
	f := &b.fast
	b.acceptEach(ln, "accept", func(c net.Conn) {
		tc, ok := c.(*net.TCPConn)
		if !ok {
			if !slow.push(c) {
				c.Close()
			}
			return
		}
		fc := &fastConn{client: addrOfConn(c)}
		f.mu.Lock()
		if len(f.conns) >= b.opts.MaxConns || f.closing.Load() {
			f.mu.Unlock()
			b.rejectConn(c)
			return
		}
		f.conns[fc] = struct{}{}
		f.wg.Add(1)
		f.mu.Unlock()
		if f.loops != nil && b.loopsServe() && f.loops.add(fc, tc) {
			return
		}
		dc, _ := newClientConn(tc).(*deferConn)
		if dc == nil {
			f.forget(fc)
			if !slow.push(c) {
				c.Close()
			}
			return
		}
		f.mu.Lock()
		fc.c = dc
		f.mu.Unlock()
		go b.serveFast(fc, slow, nil)
	})
}

// loopsServe reports whether the event loops serve new connections: not
// with the edge cache on, whose hits and fills the goroutine path serves.
func (b *Balancer) loopsServe() bool {
	t := b.table.Load()
	return t.cache == nil && !t.opts.RedirectHTTPS
}

// acceptEach hands each connection ln accepts to handle until ln is
// closed. On other errors (out of file descriptors, say) it backs off as
// net/http does, logging msg.
func (b *Balancer) acceptEach(ln net.Listener, msg string, handle func(net.Conn)) {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			b.log.Warn(msg, "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		handle(c)
	}
}

// rejectConn answers a connection over MaxConns with 503 and closes it.
func (b *Balancer) rejectConn(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(time.Second))
	io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"+
		"Content-Length: 34\r\n\r\nToo many connections; try again.\n\n")
	c.Close()
}

func addrOfConn(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}

// shutdown closes idle connections and waits for the others to finish
// their request (they close after it), until ctx ends; then closes all.
func (f *fastConns) shutdown(ctx context.Context) {
	f.closing.Store(true)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		f.mu.Lock()
		n := len(f.conns)
		for fc := range f.conns {
			if fc.c != nil && fc.idle.Load() {
				fc.c.Close()
			}
		}
		f.mu.Unlock()
		if f.loops != nil {
			f.loops.wakeAll() // they close their idle connections
		}
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			if f.loops != nil {
				f.loops.force.Store(true)
				f.loops.wakeAll()
			}
			f.mu.Lock()
			for fc := range f.conns {
				if fc.c != nil {
					fc.c.Close()
				}
			}
			f.mu.Unlock()
			f.wg.Wait()
			return
		case <-tick.C:
		}
	}
}

// serveFast serves one connection's requests until it closes, or hands
// it to the slow path. resume, when not nil, finishes a request an event
// loop began (and reports keep-alive) before the next is read.
func (b *Balancer) serveFast(fc *fastConn, slow *connQueue, resume func() bool) {
	defer func() {
		if fc.rb != nil {
			readBufs.Put(fc.rb)
			fc.rb = nil
		}
		b.fast.forget(fc)
	}()
	if resume != nil && !resume() {
		fc.c.Close()
		return
	}
	for {
		if fc.have == 0 && !b.waitRequest(fc) {
			fc.c.Close()
			return
		}
		x := exchanges.Get().(*exchange)
		keep, handOff := b.serveRequest(fc, x)
		exchanges.Put(x)
		if handOff {
			// The bytes read so far go first; the buffer stays ours.
			pre := append([]byte(nil), (*fc.rb)[:fc.have]...)
			readBufs.Put(fc.rb)
			fc.rb, fc.have = nil, 0
			if !slow.push(&replayConn{Conn: fc.c, pre: pre}) {
				fc.c.Close()
			}
			return
		}
		if !keep {
			fc.c.Close()
			return
		}
	}
}

// waitRequest waits for the next request's first bytes, holding no
// buffer while the connection is idle.
func (b *Balancer) waitRequest(fc *fastConn) bool {
	if fc.rb != nil {
		readBufs.Put(fc.rb)
		fc.rb = nil
	}
	fc.idle.Store(true)
	if b.fast.closing.Load() {
		return false
	}
	if err := fc.dl.setRead(fc.c, time.Now(), b.opts.IdleTimeout); err != nil {
		return false
	}
	rb, n, err := fc.c.readPooled()
	fc.idle.Store(false)
	if err != nil {
		return false
	}
	fc.rb, fc.have = rb, n
	return true
}

// serveRequest reads and answers the request at the start of fc's
// buffer. It reports whether the connection may go on, and whether the
// request must go to the slow path (nothing was answered then).
func (b *Balancer) serveRequest(fc *fastConn, x *exchange) (keep, handOff bool) {
	buf := (*fc.rb)[:cap(*fc.rb)]
	err := x.req.parse(buf[:fc.have])
	for err == errIncomplete {
		if fc.have == len(buf) {
			return false, true // a large head: fasthttp's, up to MaxHeaderBytes
		}
		now := time.Now()
		fc.dl.read = now.Add(b.opts.ReadHeaderTimeout)
		if fc.c.SetReadDeadline(fc.dl.read) != nil {
			return false, false
		}
		n, rerr := fc.c.read(buf[fc.have:])
		fc.have += n
		if rerr != nil {
			return false, false
		}
		err = x.req.parse(buf[:fc.have])
	}
	switch err {
	case nil:
	case errSlow:
		return false, true
	default:
		b.stats.requests.Add(1)
		b.stats.rejected.Add(1)
		b.writePlain(fc, x, rejBadRequest.status, rejBadRequest.msg, true, nil)
		return false, false
	}
	r := &x.req
	cl := max(r.contentLength, 0)
	need := int64(r.n) + cl
	if cl > int64(b.opts.MaxRequestBytes) || need > int64(len(buf)) {
		return false, true
	}
	for int64(fc.have) < need {
		if fc.c.SetReadDeadline(time.Now().Add(b.opts.ReadHeaderTimeout)) != nil {
			return false, false
		}
		fc.dl.read = time.Time{}
		n, rerr := fc.c.read(buf[fc.have:])
		fc.have += n
		if rerr != nil {
			return false, false
		}
	}
	keep, handOff = b.route(fc, x, buf[:need])
	if handOff {
		return false, true
	}
	// A pipelined request that came with this one moves to the front.
	fc.have = copy(buf, buf[need:fc.have])
	return keep, false
}

// route applies handle's rules to a parsed request (raw: its head and
// body) and answers it; see handle for the order. Every case the fast
// loop leaves to the slow path is decided before anything is counted or
// answered.
func (b *Balancer) route(fc *fastConn, x *exchange, raw []byte) (keep, handOff bool) {
	r := &x.req
	body := raw[r.n:]
	uri := r.uri
	path := uri
	if q := bytes.IndexByte(uri, '?'); q >= 0 {
		path = uri[:q]
	}
	t := b.table.Load()
	if t.isManagerPath(path) {
		return false, true
	}
	switch {
	case uri[0] != '/', !canonicalPath(path), bytes.HasPrefix(path, acmeChallengePrefix),
		t.opts.RedirectHTTPS, string(r.method) == "CONNECT":
		return b.serveOnce(fc, raw), false
	}
	if ct := b.acme.table.Load(); ct != nil && ct.redirects {
		return b.serveOnce(fc, raw), false
	}
	host, ok := orchard.HostKey(r.host)
	if !ok {
		return b.serveOnce(fc, raw), false
	}
	var rej *rejection
	var vh *vhost
	switch {
	case hasReservedPrefix(path):
		rej = rejReserved
	default:
		vh, _ = t.lookup(host)
		switch {
		case vh == nil:
			rej = rejNoHost
		case vh.denied(path, fc.client):
			rej = rejDenied
		}
	}
	clientClose := r.close || b.fast.closing.Load()
	if rej != nil {
		b.stats.requests.Add(1)
		b.stats.rejected.Add(1)
		return b.writePlain(fc, x, rej.status, rej.msg, clientClose, nil), false
	}

	pr := pickReq{now: time.Now().UnixNano(), site: host, release: b.targetRelease(host), client: fc.client}
	isGet, isHead := string(r.method) == "GET", string(r.method) == "HEAD"
	idem := isGet || isHead
	cacheOn := t.cache != nil
	if cacheOn && pr.release != "" && idem && len(r.get("Range")) == 0 {
		gz := orchard.AcceptsGzip(r.get("Accept-Encoding"))
		var kb [512]byte
		e := t.cache.get(appendKey(kb[:0], host, uri, gz, pr.release))
		if e == nil {
			return b.serveOnce(fc, raw), false // the slow path fills the entry
		}
		b.stats.requests.Add(1)
		t.cache.hits.Add(1)
		b.stats.cacheHit.Add(1)
		return b.writeEntry(fc, x, e, isHead, clientClose), false
	}
	b.stats.requests.Add(1)
	if cacheOn && idem && pr.release != "" {
		t.cache.misses.Add(1) // a Range request, as cached counts it
		b.stats.cacheMiss.Add(1)
	}
	return b.forwardFast(fc, x, t, vh.pool, &pr, body, idem, isHead, cacheOn, clientClose), false
}

// serveOnce answers one request, complete in raw, with the slow path's
// handler (fasthttp's objects, for this request only): the rare cases the
// fast loop does not answer itself, and edge-cache fills, without giving
// up the connection.
func (b *Balancer) serveOnce(fc *fastConn, raw []byte) (keep bool) {
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&fasthttp.Request{}, fc.c.RemoteAddr(), fasthttpLogger{b.log})
	if err := ctx.Request.Read(bufio.NewReader(bytes.NewReader(raw))); err != nil {
		b.stats.requests.Add(1)
		b.stats.rejected.Add(1)
		plain(ctx, rejBadRequest.status, rejBadRequest.msg)
		ctx.SetConnectionClose()
	} else {
		ctx.Response.Header.SetNoDefaultContentType(true)
		b.servePlain(ctx)
	}
	if ctx.Request.Header.IsHead() {
		ctx.Response.SkipBody = true
	}
	if ctx.Request.Header.ConnectionClose() || b.fast.closing.Load() {
		ctx.SetConnectionClose()
	}
	fc.dl.setWrite(fc.c, time.Now(), b.opts.WriteTimeout)
	bw := bufio.NewWriterSize(fc.c, 4<<10)
	err := ctx.Response.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	return err == nil && !ctx.Response.ConnectionClose()
}

// fastResult is the outcome of one exchange with a member.
type fastResult struct {
	status  int
	n       int64 // body bytes passed to the client
	written bool  // the client got (part of) a response
	keep    bool  // the client connection may go on
	err     error // the member failed
}

// forwardFast is forward for the fast loop: members are tried until one
// answers, with forward's retry rules.
func (b *Balancer) forwardFast(fc *fastConn, x *exchange, t *table, p *pool, r *pickReq, body []byte,
	idem, isHead, cacheOn, clientClose bool) bool {
	x.buildRequest(fc.client, body)
	return b.forwardFrom(fc, x, t, p, r, len(body), idem, isHead, cacheOn, clientClose, 0, nil)
}

// forwardFrom is forwardFast from attempt start on, x.fwd built; lastErr
// is the error of the attempt before (the event loops make the first).
func (b *Balancer) forwardFrom(fc *fastConn, x *exchange, t *table, p *pool, r *pickReq, bodyLen int,
	idem, isHead, cacheOn, clientClose bool, start int, lastErr error) bool {
	attempts := 1 + t.opts.Retries
	for i := start; i < attempts; i++ {
		m, err := p.acquire(r, b.ctx.Done())
		if err != nil {
			if lastErr == nil || !errors.Is(err, errNoMember) {
				return b.unavailableFast(fc, x, err, clientClose)
			}
			break
		}
		begin := time.Now()
		m.requests.Add(1)
		canRetry := idem && i+1 < attempts && r.ntried < len(r.tried)
		res := b.exchangeFast(fc, x, m, p, r, begin, idem, isHead, canRetry, cacheOn, clientClose)
		switch b.settle(fc, x, p, r, m, res, begin, time.Since(begin), bodyLen, idem, i, attempts) {
		case answered:
			return res.keep
		case tryNext:
			if res.err != nil {
				lastErr = res.err
			}
			continue
		}
		lastErr = res.err
		break
	}
	return b.failedFast(fc, x, lastErr, clientClose)
}

// outcome is what an attempt at a member leaves to do.
type outcome int

const (
	answered outcome = iota // the client has its response (or lost it half-way)
	tryNext                 // another member may answer
	giveUp                  // no other member will be tried
)

// settle counts the end of one attempt at m (res, after el) and says what
// comes next, by forward's rules.
func (b *Balancer) settle(fc *fastConn, x *exchange, p *pool, r *pickReq, m *member, res fastResult,
	begin time.Time, el time.Duration, bodyLen int, idem bool, i, attempts int) outcome {
	p.done(m)
	now := begin.UnixNano() + int64(el)
	m.bytesIn.Add(uint64(bodyLen))
	retryAfter := b.table.Load().opts.RetryAfter
	if res.err == nil {
		m.lat.add(el)
		m.bytesOut.Add(uint64(res.n))
		if p.failOn[res.status] {
			if m.failed(now, retryAfter) {
				b.log.Warn("member in error", "pool", p.Name, "member", m.cfg.Name, "status", res.status)
			}
			if !res.written {
				r.exclude(m)
				b.stats.retries.Add(1)
				return tryNext
			}
		} else {
			m.succeeded(now)
		}
		b.logFast(fc, x, res.status, res.n)
		return answered
	}
	if m.failed(now, retryAfter) {
		b.log.Warn("member in error", "pool", p.Name, "member", m.cfg.Name, "err", res.err)
	}
	if res.written {
		// The member failed half-way through its response: the
		// client sees its connection close, as from the member.
		b.logFast(fc, x, res.status, res.n)
		return answered
	}
	if !b.retryOther(r, m, idem, res.err, i, attempts) {
		return giveUp
	}
	return tryNext
}

// failedFast answers 502, or 504 when the last member timed out.
func (b *Balancer) failedFast(fc *fastConn, x *exchange, lastErr error, clientClose bool) bool {
	b.stats.failed.Add(1)
	if isTimeout(lastErr) {
		return b.writePlain(fc, x, fasthttp.StatusGatewayTimeout, "Gateway Timeout\n", clientClose, nil)
	}
	return b.writePlain(fc, x, fasthttp.StatusBadGateway, "Bad Gateway\n", clientClose, nil)
}

// unavailableFast is unavailable for the fast loop.
func (b *Balancer) unavailableFast(fc *fastConn, x *exchange, err error, clientClose bool) bool {
	b.stats.failed.Add(1)
	msg := "The servers are busy; try again in a few seconds.\n"
	if errors.Is(err, errNoMember) {
		msg = "No server is available to answer this request.\n"
	}
	return b.writePlain(fc, x, fasthttp.StatusServiceUnavailable, msg, clientClose,
		[]byte("Retry-After: 5\r\nCache-Control: no-store\r\n"))
}

// buildRequest makes the request as members get it: the request line, the
// client's headers but hop-by-hop ones, X-Forwarded-* and X-Real-IP,
// Forwarded and X-Orchard-*, then the balancer's X-Forwarded-*, the body.
func (x *exchange) buildRequest(client netip.Addr, body []byte) {
	r := &x.req
	o := x.fwd[:0]
	o = append(o, r.buf[:bytes.IndexByte(r.buf, '\n')+1]...)
	for i := range r.hdrs {
		s := &r.hdrs[i]
		if s.flags&(fContentLength-1) != 0 {
			continue
		}
		o = append(o, r.buf[s.k0:s.end]...)
	}
	o = append(o, "X-Forwarded-For: "...)
	o = client.AppendTo(o)
	o = append(o, "\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: "...)
	o = append(o, r.host...)
	o = append(o, "\r\n\r\n"...)
	x.fwd = append(o, body...)
}

var (
	errRespHead     = errors.New("malformed response head")
	errRespTooLarge = errors.New("response too large")
)

// exchangeFast sends x's request to m and passes the response to the
// client. A reused connection the member closed while idle is replaced
// once for a GET or HEAD, as fasthttp's client does. With canRetry, a
// FailOnStatus status is not passed on (the caller tries another member).
func (b *Balancer) exchangeFast(fc *fastConn, x *exchange, m *member, p *pool, r *pickReq, begin time.Time,
	idem, isHead, canRetry, cacheOn, clientClose bool) fastResult {
	up := m.up.Load()
	for try := 0; ; try++ {
		uc, reused, err := up.get(begin)
		if err != nil {
			return fastResult{err: err}
		}
		res, stale := b.roundTrip(fc, x, up, uc, m, p, r, begin, isHead, canRetry, cacheOn, clientClose)
		if stale && reused && idem && try == 0 {
			continue
		}
		return res
	}
}

// roundTrip is one exchange on uc; stale reports a connection that failed
// before any byte of a response came.
func (b *Balancer) roundTrip(fc *fastConn, x *exchange, up *upstream, uc *upConn, m *member, p *pool, r *pickReq,
	begin time.Time, isHead, canRetry, cacheOn, clientClose bool) (res fastResult, stale bool) {
	c := uc.c
	fail := func(err error) fastResult {
		c.Close()
		return fastResult{err: err}
	}
	if uc.deadline.setWrite(c, begin, up.timeout) != nil || uc.deadline.setRead(c, begin, up.timeout) != nil {
		return fail(errRespHead), true
	}
	if _, err := c.Write(x.fwd); err != nil {
		return fail(err), true
	}
	rb := respBufs.Get().(*[]byte)
	defer respBufs.Put(rb)
	buf := *rb
	got := 0
	h := &x.resp
	for {
		n, err := c.Read(buf[got:])
		got += n
		if err != nil {
			return fail(err), got == 0 && isStale(err)
		}
		perr := h.parse(buf[:got])
		for perr == nil && h.status < 200 {
			if h.status == 101 {
				return fail(errRespHead), false
			}
			got = copy(buf, buf[h.n:got]) // 1xx: informational, dropped
			perr = h.parse(buf[:got])
		}
		if perr == nil {
			break
		}
		if perr != errIncomplete || got == len(buf) {
			return fail(errRespHead), false
		}
	}
	frame := h.framing(isHead)
	if frame == bodyLength && h.contentLength > up.maxBody {
		return fail(errRespTooLarge), false
	}
	if canRetry && p.failOn[h.status] {
		c.Close()
		return fastResult{status: h.status}, false
	}
	b.observe(m, r.site, h.release, begin.UnixNano())

	closeClient := clientClose || frame == bodyClose || b.fast.closing.Load()
	x.buildResponse(cacheOn, closeClient)
	res = fastResult{status: h.status, written: true, keep: !closeClient}
	fc.dl.setWrite(fc.c, begin, b.opts.WriteTimeout)
	if _, err := fc.c.Write(x.out); err != nil {
		c.Close()
		res.keep = false
		return res, false
	}
	body := buf[h.n:got]
	reuse := !h.close
	var cs chunkScanner
	left := h.contentLength
	for {
		done := false
		switch frame {
		case bodyNone:
			reuse = reuse && len(body) == 0
			done = true
		case bodyLength:
			if int64(len(body)) >= left {
				reuse = reuse && int64(len(body)) == left
				body, left, done = body[:left], 0, true
			} else {
				left -= int64(len(body))
			}
		case bodyChunked:
			k, end, err := cs.scan(body)
			if err != nil {
				return b.midFail(c, res, errRespHead), false
			}
			reuse = reuse && k == len(body)
			body, done = body[:k], end
		case bodyClose:
			reuse = false
		}
		if res.n += int64(len(body)); res.n > up.maxBody {
			return b.midFail(c, res, errRespTooLarge), false
		}
		if len(body) > 0 {
			if _, err := fc.c.Write(body); err != nil {
				c.Close()
				res.keep = false
				return res, false
			}
		}
		if done {
			break
		}
		n, err := c.Read(buf)
		if err == io.EOF && frame == bodyClose {
			if n == 0 {
				c.Close()
				return res, false
			}
		} else if err != nil {
			return b.midFail(c, res, err), false
		}
		body = buf[:n]
	}
	if reuse {
		up.put(uc, time.Now())
	} else {
		c.Close()
	}
	if isHead {
		res.n = 0
	}
	return res, false
}

// midFail ends an exchange whose member failed after the client got the
// response's head: the client's connection closes.
func (b *Balancer) midFail(c net.Conn, res fastResult, err error) fastResult {
	c.Close()
	res.err, res.keep = err, false
	return res
}

// isStale reports an error of a keep-alive connection the member closed.
func isStale(err error) bool {
	return err == io.EOF || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// buildResponse makes the response head for the client: the member's
// status and headers but hop-by-hop ones and those its Connection header
// names, X-Orchard-Cache with the edge cache on, Connection: close if the
// client connection ends.
func (x *exchange) buildResponse(cacheOn, closeClient bool) {
	h := &x.resp
	line := h.buf[:bytes.IndexByte(h.buf, '\n')-1]
	o := append(x.out[:0], "HTTP/1.1 "...)
	o = append(o, line[9:]...)
	if len(line) == 12 {
		o = append(o, ' ')
	}
	o = append(o, "\r\n"...)
	for i := range h.hdrs {
		s := &h.hdrs[i]
		if s.flags&(fConnection|fKeepAlive|fProxyConn|fProxyAuthz|fProxyAuthn|fTE|fTrailer|fUpgrade) != 0 {
			continue
		}
		k := h.name(s)
		if h.flags&fConnTokens != 0 && h.connNamed(k) || cacheOn && s.flags&fXOrchard != 0 && eqFold(k, "X-Orchard-Cache") {
			continue
		}
		o = append(o, h.buf[s.k0:s.end]...)
	}
	if cacheOn {
		o = append(o, "X-Orchard-Cache: miss\r\n"...)
	}
	if closeClient {
		o = append(o, "Connection: close\r\n"...)
	}
	x.out = append(o, "\r\n"...)
}

// writeEntry answers from an edge cache entry: its head and body in one
// write, or 304 when If-None-Match matches its ETag (as serveEntry).
func (b *Balancer) writeEntry(fc *fastConn, x *exchange, e *cacheEntry, isHead, clientClose bool) bool {
	o := x.out[:0]
	status, n := e.status, int64(len(e.body))
	if inm := x.req.get("If-None-Match"); len(inm) > 0 && len(e.etag) > 0 && orchard.ETagMatches(inm, e.etag) {
		status, n = fasthttp.StatusNotModified, 0
		o = append(o, e.wire304...)
	} else {
		o = append(o, e.wire...)
	}
	o = b.appendDate(o, time.Now())
	if clientClose {
		o = append(o, "Connection: close\r\n"...)
	}
	o = append(o, "\r\n"...)
	x.out = o
	fc.dl.setWrite(fc.c, time.Now(), b.opts.WriteTimeout)
	_, err := fc.c.Write(o)
	if err == nil && n > 0 && !isHead {
		_, err = fc.c.Write(e.body)
	}
	if isHead {
		n = 0
	}
	b.logFast(fc, x, status, n)
	return err == nil && !clientClose
}

// writePlain answers with a short plain-text response (as plain), extra
// header lines included.
func (b *Balancer) writePlain(fc *fastConn, x *exchange, status int, msg string, clientClose bool, extra []byte) bool {
	o := append(x.out[:0], "HTTP/1.1 "...)
	o = strconv.AppendInt(o, int64(status), 10)
	o = append(o, ' ')
	o = append(o, fasthttp.StatusMessage(status)...)
	o = append(o, "\r\n"...)
	o = b.appendDate(o, time.Now())
	o = append(o, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	o = strconv.AppendInt(o, int64(len(msg)), 10)
	o = append(o, "\r\n"...)
	o = append(o, extra...)
	if clientClose {
		o = append(o, "Connection: close\r\n"...)
	}
	o = append(o, "\r\n"...)
	isHead := string(x.req.method) == "HEAD"
	if !isHead {
		o = append(o, msg...)
	}
	x.out = o
	fc.dl.setWrite(fc.c, time.Now(), b.opts.WriteTimeout)
	_, err := fc.c.Write(o)
	n := int64(len(msg))
	if isHead {
		n = 0
	}
	b.logFast(fc, x, status, n)
	return err == nil && !clientClose
}

// logFast writes the access log line of the fast loop's request.
func (b *Balancer) logFast(fc *fastConn, x *exchange, status int, n int64) {
	if b.alog == nil {
		return
	}
	r := &x.req
	b.alog.writeLine(fc.client, b.now(), r.method, r.uri, protoHTTP11, status, n, r.get("Referer"), r.get("User-Agent"))
}

var protoHTTP11 = []byte("HTTP/1.1")

// dateStamp caches the Date header line of one second.
type dateStamp struct {
	sec  int64
	line []byte
}

// appendDate appends a Date header line for now.
func (b *Balancer) appendDate(dst []byte, now time.Time) []byte {
	sec := now.Unix()
	d := b.date.Load()
	if d == nil || d.sec != sec {
		d = &dateStamp{sec: sec, line: now.UTC().AppendFormat([]byte("Date: "), "Mon, 02 Jan 2006 15:04:05 GMT\r\n")}
		b.date.Store(d)
	}
	return append(dst, d.line...)
}

// replayConn is a connection handed to the slow path: pre, the bytes the
// fast loop read, come first.
type replayConn struct {
	net.Conn
	pre []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
