// Package testnet holds what tests across orchard share to run servers on
// loopback and wait for them: a free address, and polling for a condition
// with a deadline instead of sleeping and hoping.
package testnet

import (
	"net"
	"testing"
	"time"
)

// Deadline is how long WaitFor polls before it fails the test: generous,
// because the CI machine is busy (2 cores) and a wait that holds returns
// as soon as it does.
const Deadline = 60 * time.Second

// FreeAddr returns a loopback address nothing listens on right now, for a
// process or listener that must be told its address before it starts.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
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
