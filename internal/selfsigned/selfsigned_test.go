package selfsigned_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/orchardhq/orchard/internal/selfsigned"
)

// TestNew checks that a certificate loads as a TLS key pair, carries the
// names, addresses and validity asked for, and verifies against itself as
// a root when it is a CA.
func TestNew(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	c, err := selfsigned.New(selfsigned.Template{Names: []string{"a.example", "b.example"},
		IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: now, NotAfter: now.Add(time.Hour), CA: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := c.Write(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf := pair.Leaf
	if got, want := leaf.Subject.CommonName, "a.example"; got != want {
		t.Errorf("common name %q, want %q", got, want)
	}
	if !slices.Equal(leaf.DNSNames, []string{"a.example", "b.example"}) || len(leaf.IPAddresses) != 1 {
		t.Errorf("names %v, addresses %v", leaf.DNSNames, leaf.IPAddresses)
	}
	if !leaf.NotAfter.Equal(c.NotAfter) {
		t.Errorf("not after %v, Cert says %v", leaf.NotAfter, c.NotAfter)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: c.Pool(), DNSName: "b.example", CurrentTime: now.Add(time.Minute)}); err != nil {
		t.Errorf("verify against itself: %v", err)
	}
}

// TestNoName checks that a certificate with no name is refused.
func TestNoName(t *testing.T) {
	if _, err := selfsigned.New(selfsigned.Template{NotAfter: time.Now()}); err == nil {
		t.Error("no error for a certificate without a name")
	}
}
