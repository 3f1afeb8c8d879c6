package balancer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/selfsigned"
)

// certSet makes n sites' certificates, one host each (h00000.example ...),
// signed by one throwaway key to keep the fixture quick.
func certSet(tb testing.TB, n int) *orchard.CertSet {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	set := &orchard.CertSet{}
	for i := range n {
		host := fmt.Sprintf("h%05d.example", i)
		c, err := selfsigned.New(selfsigned.Template{Names: []string{host}, Serial: int64(i + 1),
			NotBefore: now, NotAfter: now.Add(90 * 24 * time.Hour), Key: key})
		if err != nil {
			tb.Fatal(err)
		}
		set.Certs = append(set.Certs, orchard.SiteCert{Names: []string{host}, NotAfter: c.NotAfter, CertPEM: c.CertPEM, KeyPEM: c.KeyPEM})
	}
	return set
}

// TestCertTableMemory states what a balancer holds per pushed certificate
// (issue 21: 1,000 hosts) and bounds it: the parsed chain, leaf and key of
// each, and its map entries.
func TestCertTableMemory(t *testing.T) {
	const n = 1000
	set := certSet(t, n)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	table, err := newCertTable(set)
	if err != nil {
		t.Fatal(err)
	}
	after := heap()
	per := float64(after-before) / n
	t.Logf("%d certificates: %.1f KiB of heap each, %.2f MiB in all", n, per/1024, float64(after-before)/(1<<20))
	if per > 16<<10 {
		t.Errorf("%.1f KiB per certificate, want at most 16 KiB", per/1024)
	}
	runtime.KeepAlive(table)
}

// BenchmarkSNI picks a certificate by SNI among 10 and among 1,000 hosts:
// one map lookup either way.
func BenchmarkSNI(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			table, err := newCertTable(certSet(b, n))
			if err != nil {
				b.Fatal(err)
			}
			bal := &Balancer{}
			bal.acme.table.Store(table)
			hello := &tls.ClientHelloInfo{ServerName: fmt.Sprintf("H%05d.example", n/2)} // mixed case, as a client may send
			b.ReportAllocs()
			for b.Loop() {
				if c, err := bal.getCertificate(hello); err != nil || c == nil {
					b.Fatal(err)
				}
			}
		})
	}
}
