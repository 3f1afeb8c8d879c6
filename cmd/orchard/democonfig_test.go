package main

import (
	"net"
	"strconv"
	"testing"

	"github.com/orchardhq/orchard/internal/testnet"
)

// TestPlanHTTPSDistinct: the HTTPS addresses of the demo, picked from the
// kernel's free ports when the one near --listen is taken, are never an
// address the layout planned already nor each other (the kernel may offer
// a port it has just freed again).
func TestPlanHTTPSDistinct(t *testing.T) {
	for i := range 20 {
		listen := testnet.FreeAddr(t)
		host, portStr, _ := net.SplitHostPort(listen)
		port, _ := strconv.Atoi(portStr)
		near := net.JoinHostPort(host, strconv.Itoa(port+443))
		if port+443 < 65536 {
			if ln, err := net.Listen("tcp", near); err == nil {
				defer ln.Close() // taken: the TLS port comes from the kernel
			}
		}
		l, err := planDemo(listen, 3)
		if err != nil {
			t.Fatal(err)
		}
		planned := l.planned()
		if err := planHTTPS(l, t.TempDir()); err != nil {
			t.Fatal(err)
		}
		if l.HTTPS.TLSListen == near || l.HTTPS.TLSListen == l.HTTPS.Pebble || planned[l.HTTPS.TLSListen] || planned[l.HTTPS.Pebble] {
			t.Fatalf("round %d: TLS %s, Pebble %s; the layout planned %v (and %s is taken)",
				i, l.HTTPS.TLSListen, l.HTTPS.Pebble, planned, near)
		}
	}
}
