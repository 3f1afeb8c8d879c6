package balancer

import (
	"net"
	"sync"
	"time"
)

// upstream is the fast loop's pool of keep-alive connections to one
// member (fasthttp's HostClient serves the slow path): newest first, so
// the connections in use stay warm and the rest age out.
type upstream struct {
	addr    string
	dial    time.Duration // DialTimeout
	timeout time.Duration // ResponseTimeout: the whole exchange
	maxBody int64         // MaxResponseBytes

	mu     sync.Mutex
	idle   []*upConn
	closed bool
}

// upIdleMax is how long an idle connection to a member is kept (as the
// HostClient's MaxIdleConnDuration).
const upIdleMax = 20 * time.Second

// upConn is one connection to a member.
type upConn struct {
	c        net.Conn // a *deferConn for TCP
	last     time.Time
	deadline deadlines
}

func newUpstream(addr string, o Options) *upstream {
	return &upstream{addr: addr, dial: o.DialTimeout, timeout: o.ResponseTimeout, maxBody: int64(o.MaxResponseBytes)}
}

// get returns an idle connection (reused true) or a new one.
func (u *upstream) get(now time.Time) (uc *upConn, reused bool, err error) {
	u.mu.Lock()
	for len(u.idle) > 0 {
		uc = u.idle[len(u.idle)-1]
		u.idle[len(u.idle)-1] = nil
		u.idle = u.idle[:len(u.idle)-1]
		if now.Sub(uc.last) < upIdleMax {
			u.mu.Unlock()
			return uc, true, nil
		}
		uc.c.Close()
	}
	u.mu.Unlock()
	c, err := net.DialTimeout("tcp", u.addr, u.dial)
	if err != nil {
		return nil, false, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		c = newMemberConn(tc) // a request held until the response is awaited: see deferConn
	}
	return &upConn{c: c}, false, nil
}

// put returns a connection whose exchange ended cleanly.
func (u *upstream) put(uc *upConn, now time.Time) {
	uc.last = now
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		uc.c.Close()
		return
	}
	u.idle = append(u.idle, uc)
	u.mu.Unlock()
}

// close closes the idle connections; those in use are closed when they
// come back.
func (u *upstream) close() {
	u.mu.Lock()
	idle := u.idle
	u.idle, u.closed = nil, true
	u.mu.Unlock()
	for _, uc := range idle {
		uc.c.Close()
	}
}

// isClosed reports a member replaced by a reload.
func (u *upstream) isClosed() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.closed
}

// deadlines sets a connection's deadlines only when the one set is more
// than a quarter of the timeout too early (as fasthttp does): a deadline
// change is a timer change, and most requests need none.
type deadlines struct {
	read, write time.Time
}

func (d *deadlines) setRead(c net.Conn, now time.Time, timeout time.Duration) error {
	if t := now.Add(timeout); t.Sub(d.read) > timeout/4 {
		d.read = t
		return c.SetReadDeadline(t)
	}
	return nil
}

func (d *deadlines) setWrite(c net.Conn, now time.Time, timeout time.Duration) error {
	if t := now.Add(timeout); t.Sub(d.write) > timeout/4 {
		d.write = t
		return c.SetWriteDeadline(t)
	}
	return nil
}
