package balancer

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// A proxied request costs the balancer a read and a write on each of its
// two connections, and Go adds one more read on each: net.Conn.Read always
// tries the socket before it waits, and right after a request goes to a
// member (or a response to a client) the answer cannot be there yet, so
// that read returns EAGAIN. On this kind of machine (a virtual one, where
// a system call is dear) those two reads were a third of the balancer's
// system calls. deferConn saves them: a write is held until the next read,
// which sends it from inside syscall.RawConn.Read and then waits for the
// socket without trying it first.
//
// Waiting without a read first is only safe for data that arrives after
// the wait was armed: RawConn.Read forgets a readiness that came before.
// A member answers only what it was sent, so what it sends comes after the
// held request went out, with one exception: closing an idle connection.
// That FIN is forgotten, but a request sent into the closed socket draws a
// reset, which wakes the wait; and a connection idle for longer than
// idleFlush sends at once and reads first, as before, so a member's close
// reads as EOF and fasthttp's retry of a stale connection applies. A
// client may send before it was answered (pipelining): on the traffic side
// the wait is bounded by probe, after which the read tries first.

const (
	deferMax = 64 << 10 // larger writes go out at once

	// clientProbe bounds the wait for a pipelining client's request that
	// came before the response went out; memberIdle is idleFlush for
	// connections to members.
	clientProbe = 20 * time.Millisecond
	memberIdle  = time.Second
)

// An idle connection holds no buffer (issue 23: memory per idle client):
// a held write's buffer goes back to deferBufs as soon as the write is
// sent, before the wait for the answer, and a short read (fasthttp reads
// the first byte of a request alone, with Server.ReduceMemoryUsage, so
// its own buffers are pooled while idle) reads ahead into a readBufs
// buffer, kept only until the caller has taken what it read.
var (
	deferBufs = sync.Pool{New: func() any { b := make([]byte, 0, deferMax); return &b }}
	readBufs  = sync.Pool{New: func() any { b := make([]byte, readAhead); return &b }}
)

const (
	readAhead = 8 << 10 // read-ahead buffer: a request's head, usually
	shortRead = 512     // reads shorter than this read ahead
)

// deferConn is a TCP connection whose writes wait for its next read (or
// Close), see above. Reads and writes come from one goroutine at a time,
// as with fasthttp's use; Close may come from another.
type deferConn struct {
	*net.TCPConn
	rc           syscall.RawConn
	step         func(uintptr) bool // c.stepFD, made once
	flushOnClose bool               // a held write is sent by Close (a response), not dropped (a request)
	probe        time.Duration      // bound on a wait armed after the held write; 0 = none
	idleFlush    time.Duration      // after this long without a read, write at once; 0 = never
	lastRead     time.Time          // when a Read last returned (kept only with idleFlush)

	ahead   *[]byte // read ahead, not yet returned: (*ahead)[aheadAt:]; nil = none
	aheadAt int

	mu      sync.Mutex
	pending *[]byte // held bytes; nil = none
	closed  bool

	rdl      time.Time // the read deadline the caller set
	rdlStale bool      // rdl is not yet set on the socket

	// read's state for stepFD: what to send (from held), where to read
	// (p, or a pooled buffer when nil), the outcome.
	held  *[]byte
	out   []byte
	got   *[]byte // with p nil: the readBufs buffer read into
	p     []byte
	sent  bool
	n     int
	errno error
}

// newClientConn wraps a connection of a traffic client: a held response
// is sent by Close, and waits are bounded by clientProbe.
func newClientConn(c *net.TCPConn) net.Conn {
	return newDeferConn(c, &deferConn{flushOnClose: true, probe: clientProbe})
}

// newMemberConn wraps a connection to a member: a held request is dropped
// by Close, and after memberIdle without a read a request goes at once.
func newMemberConn(c *net.TCPConn) net.Conn {
	return newDeferConn(c, &deferConn{idleFlush: memberIdle, lastRead: time.Now()})
}

func newDeferConn(c *net.TCPConn, d *deferConn) net.Conn {
	rc, err := c.SyscallConn()
	if err != nil {
		return c
	}
	d.TCPConn, d.rc = c, rc
	d.step = d.stepFD
	return d
}

func (c *deferConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.closed || (c.pending == nil && c.idleFlush > 0 && time.Since(c.lastRead) > c.idleFlush) {
		c.mu.Unlock()
		return c.TCPConn.Write(p)
	}
	if c.pending == nil && len(p) <= deferMax {
		c.pending = deferBufs.Get().(*[]byte)
		*c.pending = append((*c.pending)[:0], p...)
		c.mu.Unlock()
		return len(p), nil
	}
	if c.pending != nil && len(*c.pending)+len(p) <= deferMax {
		*c.pending = append(*c.pending, p...)
		c.mu.Unlock()
		return len(p), nil
	}
	err := c.flushLocked()
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.TCPConn.Write(p)
}

// flushLocked sends what is held, waiting for the socket as a write does.
func (c *deferConn) flushLocked() error {
	if c.pending == nil {
		return nil
	}
	_, err := c.TCPConn.Write(*c.pending)
	deferBufs.Put(c.pending)
	c.pending = nil
	return err
}

// take removes the held bytes for the reading goroutine.
func (c *deferConn) take() *[]byte {
	c.mu.Lock()
	p := c.pending
	c.pending = nil
	c.mu.Unlock()
	return p
}

// SetReadDeadline sets the deadline of the next reads. While a write is
// held, the next Read applies it, saving a timer change.
func (c *deferConn) SetReadDeadline(t time.Time) error {
	c.rdl = t
	c.mu.Lock()
	held := c.pending != nil
	c.mu.Unlock()
	if held {
		c.rdlStale = true
		return nil
	}
	c.rdlStale = false
	return c.TCPConn.SetReadDeadline(t)
}

func (c *deferConn) SetDeadline(t time.Time) error {
	c.rdl, c.rdlStale = t, false
	return c.TCPConn.SetDeadline(t)
}

func (c *deferConn) Read(p []byte) (int, error) {
	if c.ahead != nil {
		n := copy(p, (*c.ahead)[c.aheadAt:])
		if c.aheadAt += n; c.aheadAt == len(*c.ahead) {
			readBufs.Put(c.ahead)
			c.ahead = nil
		}
		return n, nil
	}
	var n int
	var err error
	if len(p) > 0 && len(p) < shortRead {
		n, err = c.readAhead(p)
	} else {
		n, err = c.read(p)
	}
	if c.idleFlush > 0 {
		c.lastRead = time.Now()
	}
	return n, err
}

// takeRead waits for data and takes the readBufs buffer it was read
// into; when nothing was read the buffer goes back and b is nil.
func (c *deferConn) takeRead() (b *[]byte, n int, err error) {
	n, err = c.read(nil)
	b = c.got
	c.got = nil
	if n == 0 && b != nil {
		readBufs.Put(b)
		b = nil
	}
	return b, n, err
}

// readPooled waits for data and reads it into a readBufs buffer of
// readAhead bytes, which the caller then owns: a connection waiting for
// a request holds no buffer.
func (c *deferConn) readPooled() (*[]byte, int, error) {
	b, n, err := c.takeRead()
	if n == 0 {
		if err == nil {
			err = io.EOF
		}
		return nil, 0, err
	}
	*b = (*b)[:cap(*b)]
	return b, n, nil
}

// readAhead reads into a pooled buffer, taken only once data is there,
// and keeps what p cannot take for the next reads, so a short read costs
// no extra system call and a connection waiting for it holds no buffer.
func (c *deferConn) readAhead(p []byte) (int, error) {
	b, n, err := c.takeRead()
	if n == 0 {
		return 0, err
	}
	*b = (*b)[:n]
	k := copy(p, *b)
	if k == n {
		readBufs.Put(b)
	} else {
		c.ahead, c.aheadAt = b, k
	}
	return k, nil
}

func (c *deferConn) read(p []byte) (int, error) {
	held := c.take()
	if held == nil {
		return c.plainRead(p)
	}
	c.held = held
	defer func() {
		if c.held != nil {
			deferBufs.Put(c.held)
			c.held = nil
		}
	}()
	var probe time.Time
	if c.probe > 0 {
		probe = time.Now().Add(c.probe)
	}
	probing := c.probe > 0 && (c.rdl.IsZero() || probe.Before(c.rdl))
	switch {
	case probing:
		if err := c.TCPConn.SetReadDeadline(probe); err != nil {
			return 0, err
		}
	case c.rdlStale:
		if err := c.TCPConn.SetReadDeadline(c.rdl); err != nil {
			return 0, err
		}
	}
	c.rdlStale = false
	c.out, c.p, c.sent, c.n, c.errno = *held, p, false, 0, nil
	err := c.rc.Read(c.step)
	out, n, errno := c.out, c.n, c.errno
	c.out, c.p = nil, nil
	if probing {
		if e := c.TCPConn.SetReadDeadline(c.rdl); e != nil && err == nil {
			err = e
		}
	}
	if err != nil && len(out) > 0 && c.flushOnClose {
		// RawConn.Read ended before stepFD ran: a deadline was already
		// past when the wait began (a goroutine that ran late finds the
		// probe so). A held response is not dropped for that; it goes out
		// as a write does, as Close would send it.
		if _, err := c.TCPConn.Write(out); err != nil {
			return 0, err
		}
		out = nil
	}
	switch {
	case err != nil && probing && len(out) == 0 && errors.Is(err, os.ErrDeadlineExceeded):
		// The probe ran out: nothing came yet, or it came before the wait
		// was armed. Read as net.Conn does, trying first.
		return c.plainRead(p)
	case err == nil && errno == syscall.EAGAIN && len(out) > 0:
		// The socket's send buffer was full: send the rest as a write does.
		if _, err := c.TCPConn.Write(out); err != nil {
			return 0, err
		}
		return c.plainRead(p)
	case err == nil && len(out) > 0:
		return 0, c.opError("write", os.NewSyscallError("write", errno))
	case err != nil:
		return 0, c.opError("read", err)
	case errno != nil:
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	case n == 0 && (p == nil || len(p) > 0):
		return 0, io.EOF
	}
	return n, nil
}

// plainRead reads as net.Conn does, trying the socket first; p nil reads
// into c.got as read does.
func (c *deferConn) plainRead(p []byte) (int, error) {
	if p != nil {
		return c.TCPConn.Read(p)
	}
	c.p, c.sent, c.n, c.errno = nil, true, 0, nil
	err := c.rc.Read(c.step)
	n, errno := c.n, c.errno
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case errno != nil:
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// stepFD is read's function for RawConn.Read (a method value made once, so
// a read does not allocate a closure): the first call sends c.out and
// returns false to wait without reading; later calls read once into c.p.
// It reports false for RawConn.Read to wait for the socket.
func (c *deferConn) stepFD(fd uintptr) bool {
	if !c.sent {
		c.sent = true
		for len(c.out) > 0 {
			w, e := rawWrite(fd, c.out)
			if e == syscall.EINTR {
				continue
			}
			if e != 0 {
				c.errno = e
				return true // EAGAIN: the rest goes out as a write does
			}
			c.out = c.out[w:]
		}
		// Sent: the buffer is free while the connection waits, which
		// may be long (an idle client).
		deferBufs.Put(c.held)
		c.held, c.out = nil, nil
		return false // wait for the answer without trying first
	}
	for {
		p := c.p
		if p == nil {
			if c.got == nil {
				c.got = readBufs.Get().(*[]byte)
			}
			p = (*c.got)[:cap(*c.got)]
		}
		n, e := rawRead(fd, p)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if c.p == nil {
				readBufs.Put(c.got) // not while waiting
				c.got = nil
			}
			return false
		case 0:
		default:
			c.errno = e
		}
		c.n = n
		return true
	}
}

// rawWrite and rawRead are write(2) and read(2) on a non-blocking socket
// without telling the scheduler: they never block, and a loopback write
// (which runs the receiver's TCP stack too) often outlasts sysmon's 20 µs
// tick, after which an announced system call loses its P to another
// thread (a futex wake-up, a handoff, a park on return). That churn was
// a sixth of the balancer's CPU per proxied request.
func rawWrite(fd uintptr, p []byte) (int, syscall.Errno) { return rawIO(syscall.SYS_WRITE, fd, p) }

func rawRead(fd uintptr, p []byte) (int, syscall.Errno) { return rawIO(syscall.SYS_READ, fd, p) }

// rawIO is read(2) or write(2) (trap) of p on fd, unannounced.
func rawIO(trap, fd uintptr, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	n, _, e := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}

func (c *deferConn) opError(op string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// Close sends a held response (or drops a held request) and closes.
func (c *deferConn) Close() error {
	c.mu.Lock()
	c.closed = true
	if c.pending != nil {
		if c.flushOnClose {
			c.flushLocked()
		} else {
			deferBufs.Put(c.pending)
			c.pending = nil
		}
	}
	c.mu.Unlock()
	return c.TCPConn.Close()
}
