package balancer

import (
	"crypto/tls"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// The TLS listener does its own handshakes so that HTTP/1.1 connections,
// most of a site's clients, skip net/http: through it, each request and
// response was copied between the two libraries, and an HTTPS request cost
// twice the CPU of a plain one. Connections that chose HTTP/2 are queued
// for net/http, which finds the handshake done and serves HTTP/2 as before.

// acceptTLS accepts TLS connections until ln is closed.
func (b *Balancer) acceptTLS(ln net.Listener, h2 *connQueue) {
	defer h2.Close()
	b.acceptEach(ln, "TLS accept", func(c net.Conn) { go b.serveTLSConn(c, h2) })
}

// serveTLSConn does the handshake, bounded by the header timeout as a
// request line would be, and hands the connection to the server of the
// protocol the client chose.
func (b *Balancer) serveTLSConn(c net.Conn, h2 *connQueue) {
	tc := tls.Server(c, b.tlsSrv.TLSConfig)
	c.SetDeadline(time.Now().Add(b.opts.ReadHeaderTimeout))
	if err := tc.Handshake(); err != nil {
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		if !h2.push(tc) {
			tc.Close()
		}
		return
	}
	b.tlsFast.ServeConn(tc) // closes tc
}

// serveTLSFast handles one HTTPS request on an HTTP/1.1 connection.
func (b *Balancer) serveTLSFast(ctx *fasthttp.RequestCtx) {
	// Members are reached over plain HTTP: a request that keeps the
	// https scheme fasthttp gave it would make the member client refuse it.
	ctx.Request.URI().SetSchemeBytes(schemeHTTP)
	b.handle(ctx, true)
	if v, ok := b.hstsFor(ctx.Host()); ok {
		ctx.Response.Header.Set("Strict-Transport-Security", v)
	}
}

var schemeHTTP = []byte("http")

// connQueue is a net.Listener whose connections are pushed to it: the
// TLS accept loop's HTTP/2 connections, for net/http's Serve.
type connQueue struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnQueue(addr net.Addr) *connQueue {
	return &connQueue{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }

// push hands c to Accept; false once the queue is closed.
func (q *connQueue) push(c net.Conn) bool {
	select {
	case q.ch <- c:
		return true
	case <-q.done:
		return false
	}
}
