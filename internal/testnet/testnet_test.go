package testnet_test

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orchardhq/orchard/internal/testnet"
)

func TestFreeAddr(t *testing.T) {
	addr := testnet.FreeAddr(t)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on FreeAddr's %s: %v", addr, err)
	}
	ln.Close()
}

// TestFreeAddr_Distinct: the addresses of one cluster file, asked for one
// after the other, are never the same port, even when the kernel offers a
// port it has just freed again.
func TestFreeAddr_Distinct(t *testing.T) {
	seen := map[string]bool{}
	for range 500 {
		addr := testnet.FreeAddr(t)
		if seen[addr] {
			t.Fatalf("FreeAddr returned %s twice", addr)
		}
		seen[addr] = true
	}
}

func TestWaitFor(t *testing.T) {
	for _, tc := range []struct {
		name string
		wait func(tb testing.TB, what string, cond func() bool)
	}{
		{"WaitFor", testnet.WaitFor},
		{"WaitWithin", func(tb testing.TB, what string, cond func() bool) { testnet.WaitWithin(tb, time.Minute, what, cond) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			tc.wait(t, "the third call", func() bool { return calls.Add(1) >= 3 })
			if got := calls.Load(); got != 3 {
				t.Fatalf("cond called %d times, want 3 (it stops polling once cond holds)", got)
			}
		})
	}
}
