// Package selfsigned makes throwaway self-signed ECDSA P-256 certificates:
// the certificate fixtures of the balancer and certs tests, and the HTTPS
// listener certificate of Pebble in tests and in the demo.
package selfsigned

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// Template says what a certificate is for.
type Template struct {
	// Names are the DNS names; the first is the common name unless
	// CommonName is set.
	Names      []string
	CommonName string
	IPs        []net.IP
	// Serial is the serial number; 0 picks a random one.
	Serial              int64
	NotBefore, NotAfter time.Time
	// CA marks the certificate as able to sign, which a client that
	// trusts it as a root (Pebble's listener certificate) needs.
	CA bool
	// Key signs and is certified; nil makes a new key (a fixture of
	// many certificates shares one key to stay quick).
	Key *ecdsa.PrivateKey
}

// Cert is a certificate and its private key in PEM.
type Cert struct {
	CertPEM, KeyPEM []byte
	NotAfter        time.Time
}

// New makes the certificate t describes, signed by its own key.
func New(t Template) (Cert, error) {
	key := t.Key
	if key == nil {
		var err error
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return Cert{}, fmt.Errorf("self-signed key: %w", err)
		}
	}
	serial := big.NewInt(t.Serial)
	if t.Serial == 0 {
		var err error
		if serial, err = rand.Int(rand.Reader, big.NewInt(1<<62)); err != nil {
			return Cert{}, fmt.Errorf("self-signed serial: %w", err)
		}
	}
	cn := t.CommonName
	if cn == "" && len(t.Names) > 0 {
		cn = t.Names[0]
	}
	if cn == "" {
		return Cert{}, errors.New("self-signed certificate: no name")
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		DNSNames: t.Names, IPAddresses: t.IPs, NotBefore: t.NotBefore, NotAfter: t.NotAfter}
	if t.CA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return Cert{}, fmt.Errorf("self-signed certificate for %s: %w", cn, err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return Cert{}, fmt.Errorf("self-signed key: %w", err)
	}
	return Cert{
		CertPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
		NotAfter: t.NotAfter,
	}, nil
}

// Write writes the certificate to certFile and the key, readable by the
// owner only, to keyFile.
func (c Cert) Write(certFile, keyFile string) error {
	if err := os.WriteFile(keyFile, c.KeyPEM, 0o600); err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	if err := os.WriteFile(certFile, c.CertPEM, 0o644); err != nil {
		return fmt.Errorf("write certificate: %w", err)
	}
	return nil
}

// Pool returns a pool that trusts the certificate.
func (c Cert) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(c.CertPEM)
	return p
}
