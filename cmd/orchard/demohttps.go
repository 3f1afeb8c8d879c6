package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	pebbledb "github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"

	"github.com/orchardhq/orchard/internal/loopdns"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/internal/selfsigned"
)

// `orchard demo --https` runs Let's Encrypt's test CA, Pebble, inside the
// demo process (its packages, pinned in go.mod), with a DNS server that
// resolves every name to 127.0.0.1: the master orders a certificate for
// each sample site as it would from Let's Encrypt, Pebble validates HTTP-01
// through the balancer's plain listener, and the balancer serves the
// certificates on its TLS listener. Pebble keeps nothing: each run has a
// new root, written to DIR/pebble-root.pem.

// demoHTTPS is the HTTPS part of the demo's layout.
type demoHTTPS struct {
	TLSListen string // the balancer's HTTPS address
	Pebble    string // Pebble's ACME listener
	CARoot    string // the certificate of Pebble's own HTTPS listener (acme.ca_root)
	CAKey     string
}

// planHTTPS picks the HTTPS addresses: the balancer's near the plain port
// (8000 -> 8443) and any free port for Pebble, none of them an address the
// layout has planned already.
func planHTTPS(l *demoLayout, dir string) error {
	host, portStr, _ := net.SplitHostPort(l.Listen)
	port, _ := strconv.Atoi(portStr)
	h := &demoHTTPS{CARoot: filepath.Join(dir, "pebble", "listener.pem"), CAKey: filepath.Join(dir, "pebble", "listener.key")}
	taken := l.planned()
	var err error
	if a := net.JoinHostPort(host, strconv.Itoa(port+443)); port+443 < 65536 && !taken[a] && isFree(a) {
		h.TLSListen = a
		taken[a] = true
	} else if h.TLSListen, err = freeAddr(host, taken); err != nil {
		return fmt.Errorf("no free port on %s for HTTPS: %w", host, err)
	}
	if h.Pebble, err = freeAddr(host, taken); err != nil {
		return err
	}
	l.HTTPS = h
	return nil
}

// demoCA is Pebble and its DNS server, running in the demo process.
type demoCA struct {
	srv     *http.Server
	dns     *loopdns.Server
	rootPEM []byte
}

// startCA starts Pebble for the demo (only with --https). Certificates the
// master kept from an earlier run chain to a root that is gone: they are
// dropped, to be ordered again.
func (d *demo) startCA(context.Context) error {
	h := d.layout.HTTPS
	if h == nil {
		return nil
	}
	if err := os.RemoveAll(certsDir(d.cfg)); err != nil {
		return err
	}
	if err := writeListenerCert(h.CARoot, h.CAKey); err != nil {
		return fmt.Errorf("pebble: %w", err)
	}
	logFile, err := os.OpenFile(filepath.Join(d.dir, "logs", "pebble.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	logger := log.New(logFile, "Pebble ", log.LstdFlags)
	// Pebble reads these at construction: no validation delay, no
	// rejected nonces, every order validated afresh.
	for k, v := range map[string]string{"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"} {
		os.Setenv(k, v)
	}
	dnsSrv, err := loopdns.Start()
	if err != nil {
		return err
	}
	resolver := dnsSrv.Addr
	_, plainPort, _ := net.SplitHostPort(d.layout.Listen)
	httpPort, _ := strconv.Atoi(plainPort)
	db := pebbledb.NewMemoryStore()
	authority := ca.New(logger, db, "", "ecdsa", 0, 1, map[string]ca.Profile{
		"default": {Description: "orchard demo", ValidityPeriod: uint64((90 * 24 * time.Hour).Seconds())},
	})
	validator := va.New(logger, httpPort, 0, false, resolver, db)
	front := wfe.New(logger, db, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 1, 1)
	cert, err := tls.LoadX509KeyPair(h.CARoot, h.CAKey)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", h.Pebble)
	if err != nil {
		return fmt.Errorf("pebble: %w", err)
	}
	c := &demoCA{dns: dnsSrv, rootPEM: authority.GetRootCert(0).PEM()}
	c.srv = &http.Server{Handler: front.Handler(), ErrorLog: logger, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	go c.srv.ServeTLS(ln, "", "")
	d.ca = c
	if err := os.WriteFile(d.caFile(), c.rootPEM, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "  Pebble (test ACME CA) at https://%s/dir; its root: %s\n", h.Pebble, d.caFile())
	return nil
}

// caFile is where the demo writes the root its certificates chain to.
func (d *demo) caFile() string { return filepath.Join(d.dir, "pebble-root.pem") }

// waitHTTPS waits until the balancer serves the first sample site over
// HTTPS with a certificate from Pebble.
func (d *demo) waitHTTPS(ctx context.Context) error {
	if d.layout.HTTPS == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(d.ca.rootPEM)
	tr := &http.Transport{TLSClientConfig: &tls.Config{ServerName: sample.AlphaHost, RootCAs: pool}, DisableKeepAlives: true}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", "https://"+d.layout.HTTPS.TLSListen+"/", nil)
		req.Host = sample.AlphaHost
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no certificate for %s after 2 minutes (last: %v); see %s and the master's log", sample.AlphaHost, err, filepath.Join(d.dir, "logs", "pebble.log"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Close stops Pebble and its DNS server.
func (c *demoCA) Close() {
	if c == nil {
		return
	}
	c.srv.Close()
	c.dns.Close()
}

// writeListenerCert makes the certificate of Pebble's HTTPS listener,
// which the master trusts through acme.ca_root.
func writeListenerCert(certFile, keyFile string) error {
	c, err := selfsigned.New(selfsigned.Template{CommonName: "orchard demo Pebble",
		Names: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(30 * 24 * time.Hour), CA: true})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o750); err != nil {
		return err
	}
	return c.Write(certFile, keyFile)
}
