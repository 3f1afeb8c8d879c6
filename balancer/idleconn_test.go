package balancer_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// Issue 23's bounds on what an idle keep-alive client connection costs
// the balancer. Its buffers are taken from pools only while a request is
// in flight, so the heap holds a few hundred bytes of connection state
// (the measured delta also counts the test's own end of each connection).
// fasthttp serves each connection on its own goroutine, whose stack
// cannot shrink below 8 KiB: the frames it waits in take ~2 KiB, and a
// 4 KiB stack needs under 1.2 KiB. So heap and stack together are bounded
// by the 10,000 idle clients in 100 MiB (the race detector's
// bigger frames are exempt from that part).
const (
	idleHeapBudget  = 4 << 10
	idleTotalBudget = 100 << 20 / 10000
)

// TestIdleConnMemory opens many keep-alive connections, sends one request
// on each and leaves them idle, then checks what they cost the process:
// buffers belong to requests in flight, not to connections.
func TestIdleConnMemory(t *testing.T) {
	const conns = 2000
	bal := mustOpen(t, onePool("", newPageBackend(t, "n0").member()))
	heap0, stack0 := liveBytes()
	held := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	br := bufio.NewReaderSize(nil, 16<<10) // one reader for all: the test's side should cost little
	redials := 0
	for len(held) < conns {
		c, err := net.Dial("tcp", bal.Addr())
		if err != nil {
			t.Fatalf("dial %d: %v", len(held), err)
		}
		if err := getIdle(c, br); err != nil {
			// Rarely (about one run in ten under -race, also before the
			// idle-memory changes) a fresh connection is closed without an
			// answer; not what this test is about.
			c.Close()
			if redials++; redials > 3 || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("connection %d: %v", len(held), err)
			}
			t.Logf("connection %d: %v; dialling again", len(held), err)
			continue
		}
		held = append(held, c)
	}
	race := raceBuild()
	var heap, stack int64
	for deadline := time.Now().Add(10 * time.Second); ; {
		h, s := liveBytes()
		heap, stack = (h-heap0)/conns, (s-stack0)/conns
		ok := heap <= idleHeapBudget && (race || heap+stack <= idleTotalBudget)
		if ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // connection goroutines may still be finishing their request
	}
	t.Logf("%d idle connections: %d heap + %d stack = %d bytes each", conns, heap, stack, heap+stack)
	if heap > idleHeapBudget {
		t.Errorf("an idle connection holds %d bytes of heap; want at most %d", heap, idleHeapBudget)
	}
	if !race && heap+stack > idleTotalBudget {
		t.Errorf("an idle connection costs %d bytes (heap and stack); want at most %d", heap+stack, idleTotalBudget)
	}
	for i, c := range held[:10] { // and they still work
		if err := getIdle(c, br); err != nil {
			t.Fatalf("connection %d after idling: %v", i, err)
		}
	}
}

// getIdle sends one GET on c and reads the whole response with br.
func getIdle(c net.Conn, br *bufio.Reader) error {
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: "+siteHost+"\r\n\r\n"); err != nil {
		return err
	}
	br.Reset(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return fmt.Errorf("response on %v: %w", c.LocalAddr(), err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || n < 8000 {
		return fmt.Errorf("got status %d, %d bytes, err %v; want 200 and the page", resp.StatusCode, n, err)
	}
	return nil
}

// liveBytes returns the heap in use after a collection, and the bytes of
// goroutine stacks (which collections shrink).
func liveBytes() (heap, stack int64) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC() // the second frees what the first's finalizers and pools released
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc), int64(ms.StackInuse)
}

// raceBuild reports whether the test runs with the race detector.
func raceBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}
