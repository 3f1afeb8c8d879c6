//go:build linux

package balancer

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const loopsSupported = true

// loops are the event loops of the plain listener (doc.go, "Event
// loops"): each owns its connections and waits for them in its own
// epoll_wait on one OS thread, as HAProxy's threads do.
type loops struct {
	b        *Balancer
	keepCPUs bool // Options.LoopsKeepCPUs
	slow     *connQueue
	all      []*loop
	next     atomic.Uint32
	force    atomic.Bool // the drain ran out: close every connection
	stop     atomic.Bool
	done     sync.WaitGroup
}

// loop is one event loop. Everything but mu's fields belongs to its
// goroutine.
type loop struct {
	ls    *loops
	b     *Balancer
	epfd  int
	wake  int // an eventfd: new connections, dial results, shutdown
	epoch time.Time

	mu       sync.Mutex
	incoming []*loopConn
	dialed   []dialResult
	stopped  bool

	byFD      []any       // *loopConn or *loopMember, by descriptor
	conns     []*loopConn // for the sweep; loopConn.at indexes it
	idle      map[*upstream][]*loopMember
	closing   bool // the balancer's shutdown was seen
	lastSweep time.Duration
	lastIdle  time.Duration
	events    [128]unix.EpollEvent
	iov       [2]unix.Iovec
}

// loopMember is a connection to a member, owned by one loop.
type loopMember struct {
	fd       int
	up       *upstream
	owner    *loopConn // nil while idle
	readable bool
	last     time.Time
}

// dialResult is a member connection dialed for c, or why not.
type dialResult struct {
	c   *loopConn
	up  *upstream
	fd  int
	err error
}

const (
	loopTick   = 20 // ms: epoll_wait's timeout, so deadlines are checked
	sweepEvery = 20 * time.Millisecond
	idleSweep  = time.Second
	loopEvents = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET
	readyIn    = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLHUP | unix.EPOLLERR
)

// startLoops starts n event loops; slow is fasthttp's listener, for
// connections the loops give up.
func (b *Balancer) startLoops(n int, slow *connQueue) (*loops, error) {
	ls := &loops{b: b, slow: slow, keepCPUs: b.opts.LoopsKeepCPUs}
	for i := 0; i < n; i++ {
		l, err := newLoop(ls)
		if err != nil {
			for _, l := range ls.all {
				l.closeFDs()
			}
			return nil, err
		}
		ls.all = append(ls.all, l)
	}
	for _, l := range ls.all {
		ls.done.Add(1)
		go l.run()
	}
	return ls, nil
}

func newLoop(ls *loops) (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("event loop: epoll: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("event loop: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, fmt.Errorf("event loop: epoll_ctl: %w", err)
	}
	return &loop{ls: ls, b: ls.b, epfd: epfd, wake: wake, epoch: time.Now(), idle: map[*upstream][]*loopMember{}}, nil
}

func (l *loop) closeFDs() {
	unix.Close(l.epfd)
	unix.Close(l.wake)
}

// add gives tc to a loop; false if it could not take the descriptor
// (tc is then still the caller's).
func (ls *loops) add(fc *fastConn, tc *net.TCPConn) bool {
	l := ls.all[int(ls.next.Add(1))%len(ls.all)]
	l.mu.Lock()
	stopped := l.stopped // a loop ended by an epoll error: the goroutine path serves
	l.mu.Unlock()
	if stopped {
		return false
	}
	fd, err := takeFD(tc)
	if err != nil {
		return false
	}
	c := &loopConn{fd: fd, fc: fc, readable: true, at: -1}
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		unix.Close(fd)
		ls.b.fast.forget(fc)
		return true
	}
	l.incoming = append(l.incoming, c)
	l.mu.Unlock()
	l.poke()
	return true
}

// takeFD takes c's descriptor out of Go's poller (a duplicate, then
// Close), non-blocking.
func takeFD(c *net.TCPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, derr
	}
	c.Close()
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// wakeAll makes every loop look at the shutdown flags.
func (ls *loops) wakeAll() {
	for _, l := range ls.all {
		l.poke()
	}
}

// halt stops the loops and waits for them; their connections are closed.
func (ls *loops) halt() {
	ls.stop.Store(true)
	ls.wakeAll()
	ls.done.Wait()
}

func (l *loop) poke() {
	one := [8]byte{1}
	unix.Write(l.wake, one[:])
}

func (l *loop) now() time.Duration { return time.Since(l.epoch) }

// run waits in epoll_wait on a locked thread: the thread sleeps there
// rather than looking for goroutines to run, and a connection's events
// never hop between threads. With keepCPUs the wait is not announced to
// the Go runtime, so the thread keeps its P while it sleeps: no other
// thread is handed that P, or woken to run it, each time a loop waits.
// That is how HAProxy's threads wait, and it is what closed the gap in
// p99 (docs/balancer-speed.md). A signal (the runtime's preemption, for
// the garbage collector's stops) ends the wait early with EINTR.
func (l *loop) run() {
	defer l.ls.done.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for !l.ls.stop.Load() {
		var n int
		var err error
		// A reload that turns the edge cache on gives the connections to
		// the goroutine path, which then needs the CPUs the loops keep.
		if l.ls.keepCPUs && l.b.loopsServe() {
			// epoll_pwait with no signal mask is epoll_wait, which arm64 lacks.
			r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(l.epfd), uintptr(unsafe.Pointer(&l.events[0])),
				uintptr(len(l.events)), loopTick, 0, 0)
			n = int(r)
			if e != 0 {
				n, err = 0, e
			}
		} else {
			n, err = unix.EpollWait(l.epfd, l.events[:], loopTick)
		}
		if err != nil && err != unix.EINTR {
			l.b.log.Error("event loop", "err", err)
			break
		}
		l.dispatch(n)
		now := l.now()
		if now-l.lastSweep >= sweepEvery {
			l.sweep(now)
		}
	}
	l.end()
}

func (l *loop) dispatch(n int) {
	for i := 0; i < n; i++ {
		ev := &l.events[i]
		fd := int(ev.Fd)
		if fd == l.wake {
			l.takeNew()
			continue
		}
		if fd >= len(l.byFD) {
			continue
		}
		switch h := l.byFD[fd].(type) {
		case *loopConn:
			if ev.Events&readyIn != 0 {
				h.readable = true
			}
			l.step(h)
		case *loopMember:
			if ev.Events&readyIn != 0 {
				h.readable = true
			}
			if h.owner == nil {
				if h.readable {
					l.dropIdle(h) // the member closed it, or sent what nobody asked for
				}
				continue
			}
			l.step(h.owner)
		}
	}
}

// takeNew takes the connections and dial results handed over.
func (l *loop) takeNew() {
	var buf [8]byte
	unix.Read(l.wake, buf[:])
	l.mu.Lock()
	in, dialed := l.incoming, l.dialed
	l.incoming, l.dialed = nil, nil
	l.mu.Unlock()
	now := l.now()
	for _, c := range in {
		l.setFD(c.fd, c)
		c.at = len(l.conns)
		l.conns = append(l.conns, c)
		ev := unix.EpollEvent{Events: loopEvents, Fd: int32(c.fd)}
		if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
			l.closeConn(c)
			continue
		}
		c.deadline = now + l.b.opts.IdleTimeout
		l.step(c)
	}
	for _, d := range dialed {
		l.onDialed(d)
	}
	l.checkShutdown()
}

// checkShutdown closes idle connections once the balancer is closing,
// and every connection when its drain ran out.
func (l *loop) checkShutdown() {
	if l.ls.force.Load() {
		for len(l.conns) > 0 {
			l.closeConn(l.conns[len(l.conns)-1])
		}
		return
	}
	if !l.closing && l.b.fast.closing.Load() {
		l.closing = true
	}
	if l.closing {
		for i := len(l.conns) - 1; i >= 0; i-- {
			if c := l.conns[i]; c.state == stRead && c.fc.have == 0 {
				l.closeConn(c)
			}
		}
	}
}

func (l *loop) setFD(fd int, v any) {
	for fd >= len(l.byFD) {
		l.byFD = append(l.byFD, nil)
	}
	l.byFD[fd] = v
}

// sweep ends what is past its deadline, and ages out idle member
// connections.
func (l *loop) sweep(now time.Duration) {
	l.lastSweep = now
	for i := len(l.conns) - 1; i >= 0; i-- {
		if i >= len(l.conns) {
			continue
		}
		if c := l.conns[i]; c.deadline != 0 && now >= c.deadline {
			l.expire(c)
		}
	}
	l.checkShutdown()
	if now-l.lastIdle < idleSweep {
		return
	}
	l.lastIdle = now
	wall := time.Now()
	for up, idle := range l.idle {
		gone := up.isClosed()
		keep := idle[:0]
		for _, mc := range idle {
			if gone || wall.Sub(mc.last) >= upIdleMax {
				l.closeMember(mc)
				continue
			}
			keep = append(keep, mc)
		}
		clear(idle[len(keep):])
		if len(keep) == 0 {
			delete(l.idle, up)
		} else {
			l.idle[up] = keep
		}
	}
}

func (l *loop) dropIdle(mc *loopMember) {
	idle := l.idle[mc.up]
	for i, x := range idle {
		if x == mc {
			idle = append(idle[:i], idle[i+1:]...)
			break
		}
	}
	l.idle[mc.up] = idle
	l.closeMember(mc)
}

func (l *loop) closeMember(mc *loopMember) {
	l.byFD[mc.fd] = nil
	unix.Close(mc.fd)
}

// memberConn returns an idle connection to up, or nil.
func (l *loop) memberConn(up *upstream) *loopMember {
	idle := l.idle[up]
	wall := time.Now()
	for n := len(idle); n > 0; n = len(idle) {
		mc := idle[n-1]
		idle[n-1] = nil
		idle = idle[:n-1]
		if wall.Sub(mc.last) < upIdleMax {
			l.idle[up] = idle
			return mc
		}
		l.closeMember(mc)
	}
	l.idle[up] = idle
	return nil
}

// putMember keeps a connection whose exchange ended cleanly.
func (l *loop) putMember(mc *loopMember) {
	mc.owner = nil
	mc.last = time.Now()
	l.idle[mc.up] = append(l.idle[mc.up], mc)
}

// dial connects to up for c in a goroutine: the loop goes on meanwhile.
func (l *loop) dial(c *loopConn, up *upstream) {
	c.state = stDial
	go func() {
		d := dialResult{c: c, up: up, fd: -1}
		nc, err := net.DialTimeout("tcp", up.addr, up.dial)
		if err == nil {
			d.fd, err = takeFD(nc.(*net.TCPConn))
		}
		d.err = err
		l.mu.Lock()
		if l.stopped {
			l.mu.Unlock()
			if d.fd >= 0 {
				unix.Close(d.fd)
			}
			return
		}
		l.dialed = append(l.dialed, d)
		l.mu.Unlock()
		l.poke()
	}()
}

func (l *loop) onDialed(d dialResult) {
	c := d.c
	if c.state != stDial || c.up != d.up {
		// c timed out or closed meanwhile
		if d.fd >= 0 {
			unix.Close(d.fd)
		}
		return
	}
	if d.err != nil {
		l.memberFailed(c, d.err, false)
		return
	}
	mc := &loopMember{fd: d.fd, up: d.up}
	ev := unix.EpollEvent{Events: loopEvents, Fd: int32(d.fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, d.fd, &ev); err != nil {
		unix.Close(d.fd)
		l.memberFailed(c, err, false)
		return
	}
	l.setFD(d.fd, mc)
	l.own(c, mc)
	l.step(c)
}

// end closes what the loop still holds, at halt.
func (l *loop) end() {
	l.mu.Lock()
	l.stopped = true
	in := l.incoming
	l.incoming = nil
	l.mu.Unlock()
	for _, c := range in {
		unix.Close(c.fd)
		l.b.fast.forget(c.fc)
	}
	for len(l.conns) > 0 {
		l.closeConn(l.conns[len(l.conns)-1])
	}
	for up, idle := range l.idle {
		for _, mc := range idle {
			l.closeMember(mc)
		}
		delete(l.idle, up)
	}
	l.closeFDs()
}

// toGoroutine gives c's connection to serveFast, which runs resume first
// when it is not nil.
func (l *loop) toGoroutine(c *loopConn, resume func() bool) {
	l.b.fast.loopHanded.Add(1)
	l.untrack(c)
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	f := os.NewFile(uintptr(c.fd), "client")
	nc, err := net.FileConn(f)
	f.Close()
	var dc *deferConn
	if tc, ok := nc.(*net.TCPConn); ok && err == nil {
		dc, _ = newClientConn(tc).(*deferConn)
	}
	fc := c.fc
	if dc == nil {
		if nc != nil {
			nc.Close()
		}
		if fc.rb != nil {
			readBufs.Put(fc.rb)
			fc.rb = nil
		}
		l.b.fast.forget(fc)
		return
	}
	fb := &l.b.fast
	fb.mu.Lock()
	fc.c = dc
	fb.mu.Unlock()
	go l.b.serveFast(fc, l.ls.slow, resume)
}

// untrack removes c from the loop's tables.
func (l *loop) untrack(c *loopConn) {
	c.state = stGone
	if c.at >= 0 {
		last := l.conns[len(l.conns)-1]
		l.conns[c.at] = last
		last.at = c.at
		l.conns[len(l.conns)-1] = nil
		l.conns = l.conns[:len(l.conns)-1]
		c.at = -1
	}
	if c.fd < len(l.byFD) {
		l.byFD[c.fd] = nil
	}
}

// closeConn closes a client connection and what it holds.
func (l *loop) closeConn(c *loopConn) {
	l.untrack(c)
	l.dropMember(c)
	if c.m != nil {
		c.p.done(c.m) // closed by the shutdown mid-exchange
		c.m = nil
	}
	if c.x != nil {
		exchanges.Put(c.x)
		c.x = nil
	}
	if c.fc.rb != nil {
		readBufs.Put(c.fc.rb)
		c.fc.rb = nil
	}
	unix.Close(c.fd)
	l.b.fast.forget(c.fc)
}
