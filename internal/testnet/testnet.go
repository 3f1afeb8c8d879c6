// Package testnet holds what tests across orchard share to run servers on
// loopback and wait for them: a free address, and polling for a condition
// with a deadline instead of sleeping and hoping.
package testnet

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Deadline is how long WaitFor polls before it fails the test: generous,
// because the CI machine is busy (2 cores) and a wait that holds returns
// as soon as it does.
const Deadline = 60 * time.Second

// FreeAddr returns a loopback address nothing listens on right now, for a
// process or listener that must be told its address before it starts. It
// never returns a port it returned before in this process (see handedOut).
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		addr := ln.Addr().(*net.TCPAddr)
		ln.Close()
		handedOut.Lock()
		seen := handedOut.ports[addr.Port]
		if !seen {
			if handedOut.ports == nil {
				handedOut.ports = map[int]bool{}
			}
			handedOut.ports[addr.Port] = true
		}
		handedOut.Unlock()
		if !seen {
			return addr.String()
		}
	}
	tb.Fatal("no port the kernel offered was new in 100 tries")
	return ""
}

// handedOut holds the ports FreeAddr has returned in this process. The
// kernel may offer a port it just freed to the next bind to port 0, and a
// test asking for the several addresses of one cluster file got the same
// one twice (node[0].listen and master.listen, in a CI rehearsal). Ports
// belong to the whole process, so this record does too.
var handedOut struct {
	sync.Mutex
	ports map[int]bool
}

// WaitFor polls cond every 10 ms until it holds, and fails tb, naming what
// it waited for, when it still does not after Deadline.
func WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	WaitWithin(tb, Deadline, what, cond)
}

// WaitWithin is WaitFor with a deadline of its own, for a wait known to be
// longer than Deadline (processes under CPU emulation).
func WaitWithin(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
