package balancer

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// deferPair returns a deferConn made by wrap on one end of a loopback
// connection and the plain other end.
func deferPair(t *testing.T, wrap func(*net.TCPConn) net.Conn) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	d := wrap(c.(*net.TCPConn))
	if _, ok := d.(*deferConn); !ok {
		t.Fatalf("wrap gave %T, want *deferConn", d)
	}
	t.Cleanup(func() { d.Close(); peer.Close() })
	return d, peer
}

// readLine reads one line from br within the deadline set on its conn.
func readLine(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	s, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v (after %q)", err, s)
	}
	return strings.TrimSuffix(s, "\n")
}

func TestDeferConn(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		// A held write goes out when the next read waits for the answer.
		d, peer := deferPair(t, newMemberConn)
		d.SetReadDeadline(time.Now().Add(10 * time.Second))
		peer.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			br := bufio.NewReader(peer)
			for {
				s, err := br.ReadString('\n')
				if err != nil {
					return
				}
				io.WriteString(peer, strings.ToUpper(s))
			}
		}()
		br := bufio.NewReader(d)
		for _, w := range []string{"one", "two", "three"} {
			if _, err := io.WriteString(d, w+"\n"); err != nil {
				t.Fatal(err)
			}
			if got, want := readLine(t, br), strings.ToUpper(w); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
	})
	t.Run("Pipelined", func(t *testing.T) {
		// The client's second request comes before the first answer is
		// sent, so the read that sends that answer would wait for ever
		// without the probe: the second request is read all the same.
		d, peer := deferPair(t, newClientConn)
		d.SetReadDeadline(time.Now().Add(10 * time.Second))
		peer.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(d)
		io.WriteString(peer, "a\n")
		if got := readLine(t, br); got != "a" {
			t.Fatalf("first request %q, want a", got)
		}
		io.WriteString(peer, "b\n")
		// The second request is in d's socket before d answers the first.
		for {
			n, err := inQueue(d.(*deferConn))
			if err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		io.WriteString(d, "A\n")
		if got := readLine(t, br); got != "b" {
			t.Fatalf("second request %q, want b", got)
		}
		io.WriteString(d, "B\n")
		d.Close() // sends the held answer
		got, err := io.ReadAll(peer)
		if err != nil || string(got) != "A\nB\n" {
			t.Fatalf("client got %q, %v; want both answers", got, err)
		}
	})
	t.Run("ErrClosedByMember", func(t *testing.T) {
		// A member that closed the connection: the held request draws a
		// reset that ends the wait with an error.
		d, peer := deferPair(t, newMemberConn)
		d.SetReadDeadline(time.Now().Add(10 * time.Second))
		peer.Close()
		// The FIN arrives first (the socket is in CLOSE_WAIT): the case the
		// reset covers.
		for tcpState(t, d.(*deferConn)) != tcpCloseWait {
			time.Sleep(time.Millisecond)
		}
		io.WriteString(d, "late\n")
		_, err := d.Read(make([]byte, 16))
		if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read after the member closed: %v, want an error before the deadline", err)
		}
	})
	t.Run("ShortReads", func(t *testing.T) {
		// fasthttp reads a request's first byte alone (ReduceMemoryUsage):
		// it reads ahead into a pooled buffer, the rest follows from it,
		// and a connection waiting for a request holds no buffer.
		d, peer := deferPair(t, newClientConn)
		dc := d.(*deferConn)
		d.SetReadDeadline(time.Now().Add(10 * time.Second))
		peer.SetDeadline(time.Now().Add(10 * time.Second))
		for _, req := range []string{"GET / HTTP/1.1\r\n\r\n", "GET /two HTTP/1.1\r\n\r\n"} {
			io.WriteString(peer, req)
			var got []byte
			one := make([]byte, 1)
			for len(got) < len(req) {
				n, err := d.Read(one)
				if err != nil {
					t.Fatalf("read after %q: %v", got, err)
				}
				got = append(got, one[:n]...)
			}
			if string(got) != req {
				t.Fatalf("read %q, want %q", got, req)
			}
			if dc.ahead != nil || dc.got != nil || dc.held != nil {
				t.Fatalf("buffers held after the request was read: ahead %v, got %v, held %v", dc.ahead != nil, dc.got != nil, dc.held != nil)
			}
			io.WriteString(d, "ok\n") // held until the next read
		}
		peer.(*net.TCPConn).CloseWrite()
		if n, err := d.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Fatalf("read after the client closed: %d, %v; want 0, EOF", n, err)
		}
	})
	t.Run("ProbeRanOutBeforeWait", func(t *testing.T) {
		// A goroutine that runs late on a busy machine can find the probe
		// already past when the wait begins: RawConn.Read then returns at
		// once, before the held response was sent. The response must still
		// go out and the read go on, not end the connection (a client saw
		// its connection close without an answer).
		d, peer := deferPair(t, newClientConn)
		dc := d.(*deferConn)
		dc.probe = time.Nanosecond // past before RawConn.Read looks at it
		d.SetReadDeadline(time.Now().Add(10 * time.Second))
		peer.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(d, "answer\n")
		done := make(chan error, 1)
		buf := make([]byte, 16)
		go func() {
			n, err := d.Read(buf)
			if err == nil && string(buf[:n]) != "next\n" {
				err = errors.New("read " + string(buf[:n]))
			}
			done <- err
		}()
		if got := readLine(t, bufio.NewReader(peer)); got != "answer" {
			t.Fatalf("client got %q, want the held answer", got)
		}
		io.WriteString(peer, "next\n")
		if err := <-done; err != nil {
			t.Fatalf("read after the probe ran out: %v", err)
		}
	})
	t.Run("ErrDeadline", func(t *testing.T) {
		d, _ := deferPair(t, newMemberConn)
		d.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		io.WriteString(d, "x\n")
		_, err := d.Read(make([]byte, 16))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("read past the deadline: %v, want a timeout", err)
		}
	})
}

// inQueue is the number of bytes waiting in c's socket (SIOCINQ).
func inQueue(c *deferConn) (int, error) {
	var n int
	var errno error
	err := c.rc.Control(func(fd uintptr) {
		n, errno = ioctlInq(fd)
	})
	if err != nil {
		return 0, err
	}
	return n, errno
}

func ioctlInq(fd uintptr) (int, error) {
	var n int32
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

const tcpCloseWait = 8 // TCP_CLOSE_WAIT in Linux's tcp_states.h

// tcpState is the TCP state of c's socket (tcpi_state of TCP_INFO).
func tcpState(t *testing.T, c *deferConn) byte {
	t.Helper()
	var info [232]byte
	var errno syscall.Errno
	err := c.rc.Control(func(fd uintptr) {
		size := uint32(len(info))
		_, _, errno = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
			uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&size)), 0)
	})
	if err != nil || errno != 0 {
		t.Fatalf("TCP_INFO: %v %v", err, errno)
	}
	return info[0]
}
