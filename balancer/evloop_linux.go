//go:build linux

package balancer

// PROTOTYPE (issue 18): an epoll event loop for the fast loop's common
// case, to measure whether it beats the goroutine per connection. Only
// plain proxied requests with the edge cache off are served here; every
// other request (and any member failure before the client saw a byte) is
// handed to serveFast with the bytes read so far, which answers it as
// today. No timeouts, no graceful shutdown: not for production.

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/orchardhq/orchard"
)

type evLoops struct {
	loops []*evLoop
	next  int
}

type evLoop struct {
	b    *Balancer
	slow *connQueue
	epfd int
	wake int

	mu       sync.Mutex
	incoming []*evClient

	byFD   []any // *evClient or *evMember, by fd
	pools  map[*upstream][]*evMember
	events [128]syscall.EpollEvent
	iov    [2]syscall.Iovec
}

type evMember struct {
	fd       int
	up       *upstream
	owner    *evClient // nil while idle
	readable bool
	last     time.Time
}

const (
	evRead = iota // waiting for a request
	evSend        // request going to the member
	evWait        // waiting for the member's response head
	evBody        // passing the response on
)

type evClient struct {
	fd       int
	fc       *fastConn
	state    int
	readable bool

	x                   *exchange
	t                   *table
	p                   *pool
	m                   *member
	pr                  pickReq
	mc                  *evMember
	need                int
	begin               time.Time
	isHead, closeClient bool

	fwd     []byte // unsent part of x.fwd
	rbuf    *[]byte
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

func (b *Balancer) startEvLoops(slow *connQueue) (*evLoops, error) {
	n := runtime.GOMAXPROCS(0)
	ls := &evLoops{}
	for i := 0; i < n; i++ {
		epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return nil, err
		}
		wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			return nil, err
		}
		l := &evLoop{b: b, slow: slow, epfd: epfd, wake: wake, pools: map[*upstream][]*evMember{}}
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(wake)}
		if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, wake, &ev); err != nil {
			return nil, err
		}
		ls.loops = append(ls.loops, l)
		go l.run()
	}
	return ls, nil
}

// stealFD takes c's descriptor out of Go's netpoller: a dup, then close.
func stealFD(c syscall.Conn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	nfd := -1
	var derr error
	rc.Control(func(fd uintptr) { nfd, derr = unix.Dup(int(fd)) })
	if derr != nil {
		return -1, derr
	}
	c.(net.Conn).Close()
	unix.SetNonblock(nfd, true)
	unix.CloseOnExec(nfd)
	return nfd, nil
}

func (ls *evLoops) add(b *Balancer, c *net.TCPConn) {
	client := addrOfConn(c)
	fd, err := stealFD(c)
	if err != nil {
		return
	}
	l := ls.loops[ls.next%len(ls.loops)]
	ls.next++
	ec := &evClient{fd: fd, fc: &fastConn{client: client}, readable: true}
	l.mu.Lock()
	l.incoming = append(l.incoming, ec)
	l.mu.Unlock()
	var one = [8]byte{1}
	unix.Write(l.wake, one[:])
}

func (l *evLoop) set(fd int, v any) {
	for fd >= len(l.byFD) {
		l.byFD = append(l.byFD, nil)
	}
	l.byFD[fd] = v
}

func (l *evLoop) register(fd int) {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
	syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev)
}

// run waits for the loop's epoll fd through Go's netpoller (an epoll fd
// is pollable), so an idle loop parks its goroutine rather than a thread,
// and processes each batch with epoll_wait(0), unannounced.
func (l *evLoop) run() {
	unix.SetNonblock(l.epfd, true)
	f := os.NewFile(uintptr(l.epfd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	for {
		f.SetReadDeadline(time.Now().Add(time.Second))
		err := rc.Read(l.poll)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
	}
}

// poll processes ready events until none is left; false to wait.
func (l *evLoop) poll(uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_WAIT, uintptr(l.epfd),
			uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events)), 0, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 || n == 0 {
			return false
		}
		l.dispatch(int(n))
	}
}

func (l *evLoop) dispatch(n int) {
	for i := 0; i < n; i++ {
		ev := l.events[i]
		fd := int(ev.Fd)
		if fd == l.wake {
			l.accept()
			continue
		}
		if fd >= len(l.byFD) {
			continue
		}
		switch h := l.byFD[fd].(type) {
		case *evClient:
			if ev.Events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
				h.readable = true
			}
			l.step(h)
		case *evMember:
			if ev.Events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
				h.readable = true
			}
			if h.owner == nil {
				if h.readable {
					l.dropIdle(h)
				}
				continue
			}
			l.step(h.owner)
		}
	}
}

func (l *evLoop) accept() {
	var buf [8]byte
	unix.Read(l.wake, buf[:])
	l.mu.Lock()
	in := l.incoming
	l.incoming = nil
	l.mu.Unlock()
	for _, c := range in {
		l.set(c.fd, c)
		l.register(c.fd)
		l.step(c)
	}
}

func (l *evLoop) dropIdle(mc *evMember) {
	idle := l.pools[mc.up]
	for i, x := range idle {
		if x == mc {
			idle = append(idle[:i], idle[i+1:]...)
			break
		}
	}
	l.pools[mc.up] = idle
	l.closeMember(mc)
}

func (l *evLoop) closeMember(mc *evMember) {
	l.byFD[mc.fd] = nil
	syscall.Close(mc.fd)
}

func (l *evLoop) closeClient(c *evClient) {
	if c.fc.rb != nil {
		readBufs.Put(c.fc.rb)
		c.fc.rb = nil
	}
	l.byFD[c.fd] = nil
	syscall.Close(c.fd)
}

// handOff gives the connection to serveFast with what was read.
func (l *evLoop) handOff(c *evClient) {
	l.byFD[c.fd] = nil
	syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
	f := os.NewFile(uintptr(c.fd), "")
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return
	}
	dc, _ := newClientConn(nc.(*net.TCPConn)).(*deferConn)
	fc := c.fc
	fc.c = dc
	b := l.b
	b.fast.mu.Lock()
	b.fast.conns[fc] = struct{}{}
	b.fast.wg.Add(1)
	b.fast.mu.Unlock()
	go b.serveFast(fc, l.slow)
}

// step advances c's state machine as far as it can go without waiting.
func (l *evLoop) step(c *evClient) {
	for {
		switch c.state {
		case evRead:
			if !l.readRequest(c) {
				return
			}
		case evSend:
			if !l.send(c) {
				return
			}
		case evWait:
			if !l.waitHead(c) {
				return
			}
		case evBody:
			if !l.body(c) {
				return
			}
		default:
			return // closed or handed off
		}
	}
}

const evGone = 99

// readRequest reads and parses; true when it moved on.
func (l *evLoop) readRequest(c *evClient) bool {
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
					l.toSlow(c)
					return false
				}
				if int64(fc.have) >= need {
					c.need = int(need)
					return l.route(c, buf[:need])
				}
			} else if err != errIncomplete || fc.have == len(buf) {
				l.toSlow(c)
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
		n, e := rawRead(uintptr(c.fd), buf[fc.have:])
		switch {
		case e == syscall.EAGAIN:
			c.readable = false
			continue
		case e == syscall.EINTR:
			continue
		case e != 0 || n == 0:
			l.finish(c)
			return false
		}
		if fc.have+n < len(buf) {
			c.readable = false
		}
		fc.have += n
	}
}

func (l *evLoop) toSlow(c *evClient) {
	if c.x != nil {
		exchanges.Put(c.x)
		c.x = nil
	}
	c.state = evGone
	l.handOff(c)
}

func (l *evLoop) finish(c *evClient) {
	if c.x != nil {
		exchanges.Put(c.x)
		c.x = nil
	}
	c.state = evGone
	l.closeClient(c)
}

// route keeps the common case: a plain request to a pool, cache off.
func (l *evLoop) route(c *evClient, raw []byte) bool {
	b := l.b
	x := c.x
	r := &x.req
	uri := r.uri
	path := uri
	for i, ch := range uri {
		if ch == '?' {
			path = uri[:i]
			break
		}
	}
	t := b.table.Load()
	if t.cache != nil || t.isManagerPath(path) || uri[0] != '/' || !canonicalPath(path) || hasPrefix(path, acmeChallengePrefix) ||
		t.opts.RedirectHTTPS || string(r.method) == "CONNECT" || hasReservedPrefix(path) {
		l.toSlow(c)
		return false
	}
	if ct := b.acme.table.Load(); ct != nil && ct.redirects {
		l.toSlow(c)
		return false
	}
	host, ok := orchard.HostKey(r.host)
	if !ok {
		l.toSlow(c)
		return false
	}
	vh, _ := t.lookup(host)
	if vh == nil || vh.denied(path, c.fc.client) {
		l.toSlow(c)
		return false
	}
	c.pr = pickReq{now: time.Now().UnixNano(), site: host, release: b.targetRelease(host), client: c.fc.client}
	m, err := vh.pool.acquire(&c.pr, closedChan)
	if err != nil {
		l.toSlow(c)
		return false
	}
	c.t, c.p, c.m = t, vh.pool, m
	c.isHead = string(r.method) == "HEAD"
	c.closeClient = r.close
	c.begin = time.Now()
	m.requests.Add(1)
	x.buildRequest(c.fc.client, raw[r.n:])
	up := m.up.Load()
	mc := l.memberConn(up)
	if mc == nil {
		l.memberFailed(c)
		return false
	}
	mc.owner = c
	c.mc = mc
	c.fwd = x.fwd
	c.state = evSend
	return true
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func hasPrefix(p, pre []byte) bool { return len(p) >= len(pre) && string(p[:len(pre)]) == string(pre) }

func (l *evLoop) memberConn(up *upstream) *evMember {
	idle := l.pools[up]
	if n := len(idle); n > 0 {
		mc := idle[n-1]
		l.pools[up] = idle[:n-1]
		return mc
	}
	nc, err := net.DialTimeout("tcp", up.addr, up.dial)
	if err != nil {
		return nil
	}
	fd, err := stealFD(nc.(*net.TCPConn))
	if err != nil {
		return nil
	}
	mc := &evMember{fd: fd, up: up}
	l.set(fd, mc)
	l.register(fd)
	return mc
}

// memberFailed: before the client saw anything, the goroutine path
// answers (retries, 502...) from the request bytes still held.
func (l *evLoop) memberFailed(c *evClient) {
	if c.mc != nil {
		c.mc.owner = nil
		l.closeMember(c.mc)
		c.mc = nil
	}
	if c.rbuf != nil {
		respBufs.Put(c.rbuf)
		c.rbuf = nil
	}
	c.p.done(c.m)
	l.toSlow(c)
}

func (l *evLoop) send(c *evClient) bool {
	for len(c.fwd) > 0 {
		n, e := rawWrite(uintptr(c.mc.fd), c.fwd)
		switch e {
		case 0:
			c.fwd = c.fwd[n:]
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			l.memberFailed(c)
			return false
		}
	}
	c.state = evWait
	c.rbuf = respBufs.Get().(*[]byte)
	c.got = 0
	return true
}

func (l *evLoop) waitHead(c *evClient) bool {
	mc := c.mc
	buf := *c.rbuf
	h := &c.x.resp
	for {
		if !mc.readable {
			return false
		}
		n, e := rawRead(uintptr(mc.fd), buf[c.got:])
		switch {
		case e == syscall.EAGAIN:
			mc.readable = false
			continue
		case e == syscall.EINTR:
			continue
		case e != 0 || n == 0:
			l.memberFailed(c)
			return false
		}
		if c.got+n < len(buf) {
			mc.readable = false
		}
		c.got += n
		perr := h.parse(buf[:c.got])
		for perr == nil && h.status < 200 {
			if h.status == 101 {
				l.memberFailed(c)
				return false
			}
			c.got = copy(buf, buf[h.n:c.got])
			perr = h.parse(buf[:c.got])
		}
		if perr == nil {
			break
		}
		if perr != errIncomplete || c.got == len(buf) {
			l.memberFailed(c)
			return false
		}
	}
	up := mc.up
	c.frame = h.framing(c.isHead)
	if c.frame == bodyLength && h.contentLength > up.maxBody || c.p.failOn[h.status] {
		l.memberFailed(c)
		return false
	}
	b := l.b
	b.observe(c.m, c.pr.site, h.release, c.begin.UnixNano())
	closeClient := c.closeClient || c.frame == bodyClose || b.fast.closing.Load()
	c.closeClient = closeClient
	c.x.buildResponse(false, closeClient)
	c.res = fastResult{status: h.status, written: true, keep: !closeClient}
	c.out = c.x.out
	c.reuse = !h.close
	c.left = h.contentLength
	c.cs = chunkScanner{}
	c.done = false
	c.state = evBody
	// the body bytes already read follow the head (one writev)
	l.frameBody(c, buf[h.n:c.got])
	return true
}

// frameBody takes body bytes read from the member into c.body.
func (l *evLoop) frameBody(c *evClient, body []byte) {
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
			c.reuse, c.done, c.res.keep = false, true, false
			body = nil
		} else {
			c.reuse = c.reuse && k == len(body)
			body, c.done = body[:k], end
		}
	case bodyClose:
		c.reuse = false
	}
	c.res.n += int64(len(body))
	c.bodyOut = body
}

// body writes c.out then c.bodyOut, reading more from the member.
func (l *evLoop) body(c *evClient) bool {
	for {
		if len(c.out)+len(c.bodyOut) > 0 {
			n, e := l.writev(c.fd, c.out, c.bodyOut)
			switch e {
			case 0:
				k := min(n, len(c.out))
				c.out = c.out[k:]
				c.bodyOut = c.bodyOut[n-k:]
				continue
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false
			default:
				c.res.keep, c.reuse, c.done = false, false, true
				c.out, c.bodyOut = nil, nil
			}
		}
		if c.done {
			l.endExchange(c)
			return true
		}
		mc := c.mc
		if !mc.readable {
			return false
		}
		buf := *c.rbuf
		n, e := rawRead(uintptr(mc.fd), buf)
		switch {
		case e == syscall.EAGAIN:
			mc.readable = false
			continue
		case e == syscall.EINTR:
			continue
		case e == 0 && n == 0 && c.frame == bodyClose:
			c.done = true
			continue
		case e != 0 || n == 0:
			c.res.keep, c.reuse, c.done = false, false, true
			continue
		}
		if n < len(buf) {
			mc.readable = false
		}
		l.frameBody(c, buf[:n])
	}
}

func (l *evLoop) writev(fd int, a, b []byte) (int, syscall.Errno) {
	if len(b) == 0 {
		return rawWrite(uintptr(fd), a)
	}
	if len(a) == 0 {
		return rawWrite(uintptr(fd), b)
	}
	l.iov[0] = syscall.Iovec{Base: &a[0], Len: uint64(len(a))}
	l.iov[1] = syscall.Iovec{Base: &b[0], Len: uint64(len(b))}
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&l.iov[0])), 2)
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}

func (l *evLoop) endExchange(c *evClient) {
	b := l.b
	mc := c.mc
	mc.owner = nil
	c.mc = nil
	now := time.Now()
	if c.reuse {
		mc.last = now
		l.pools[mc.up] = append(l.pools[mc.up], mc)
	} else {
		l.closeMember(mc)
	}
	respBufs.Put(c.rbuf)
	c.rbuf = nil
	el := now.Sub(c.begin)
	m := c.m
	c.p.done(m)
	m.bytesIn.Add(uint64(c.need - c.x.req.n))
	m.lat.add(el)
	if c.isHead {
		c.res.n = 0
	}
	m.bytesOut.Add(uint64(c.res.n))
	m.succeeded(now.UnixNano())
	b.stats.requests.Add(1)
	b.logFast(c.fc, c.x, c.res.status, c.res.n)
	exchanges.Put(c.x)
	c.x = nil
	c.m, c.p, c.t = nil, nil, nil
	if !c.res.keep {
		c.state = evGone
		l.closeClient(c)
		return
	}
	fc := c.fc
	rb := (*fc.rb)[:cap(*fc.rb)]
	fc.have = copy(rb, rb[c.need:fc.have])
	if fc.have == 0 && !c.readable {
		readBufs.Put(fc.rb)
		fc.rb = nil
	}
	c.state = evRead
}

func (b *Balancer) acceptEvLoop(ln net.Listener, slow *connQueue) {
	ls, err := b.startEvLoops(slow)
	if err != nil {
		b.log.Error("event loop", "err", err)
		b.acceptFast(ln, slow)
		return
	}
	b.acceptEach(ln, "accept", func(c net.Conn) {
		tc, ok := c.(*net.TCPConn)
		if !ok {
			if !slow.push(c) {
				c.Close()
			}
			return
		}
		ls.add(b, tc)
	})
}
