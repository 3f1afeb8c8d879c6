// Package pebbletest runs Let's Encrypt's test ACME server, Pebble, on
// loopback for tests: built once per test binary from the module's tool
// dependency (go.mod's `tool` line), started as a real process with a
// generated config, and a tiny DNS server that resolves every name to
// 127.0.0.1 so that Pebble's HTTP-01 validation reaches a local balancer.
package pebbletest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/orchardhq/orchard/internal/loopdns"
	"github.com/orchardhq/orchard/internal/selfsigned"
	"github.com/orchardhq/orchard/internal/testnet"
)

// Options shape one Pebble.
type Options struct {
	// HTTPPort is where Pebble validates HTTP-01 challenges (the balancer's
	// plain port); 0 = a free port nothing answers on.
	HTTPPort int
	// Validity of issued certificates; default 90 days.
	Validity time.Duration
	// AlwaysValid skips challenge validation (PEBBLE_VA_ALWAYS_VALID).
	AlwaysValid bool
}

// CA is a running Pebble.
type CA struct {
	Directory  string       // the ACME directory URL
	CARootFile string       // PEM of the certificate of Pebble's own HTTPS listeners
	Client     *http.Client // trusts CARootFile

	tb       testing.TB
	dir      string
	bin      string
	config   string
	mgmt     string
	dnsAddr  string
	env      []string
	cmd      *exec.Cmd
	exited   chan struct{}
	dnsClose func()
}

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// Main runs the tests of a package that starts Pebble and removes the
// binary built for them; call it from TestMain.
func Main(m *testing.M) {
	m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
}

// binary builds Pebble once per test binary.
func binary() (string, error) {
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "pebbletest")
		if err != nil {
			build.err = err
			return
		}
		build.dir = dir
		bin := filepath.Join(dir, "pebble")
		cmd := exec.Command("go", "build", "-o", bin, "github.com/letsencrypt/pebble/v2/cmd/pebble")
		out, err := cmd.CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build pebble: %v\n%s", err, out)
			return
		}
		build.bin = bin
	})
	return build.bin, build.err
}

// Start builds (once) and starts a Pebble that the test stops at its end.
// Where Pebble cannot be built or run the test is skipped, except under
// CI=true, where it fails.
func Start(tb testing.TB, o Options) *CA {
	tb.Helper()
	bin, err := binary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("pebble is required in CI: %v", err)
		}
		tb.Skipf("pebble not available: %v", err)
	}
	if o.Validity == 0 {
		o.Validity = 90 * 24 * time.Hour
	}
	if o.HTTPPort == 0 {
		_, p, _ := net.SplitHostPort(testnet.FreeAddr(tb))
		o.HTTPPort, _ = strconv.Atoi(p)
	}
	c := &CA{tb: tb, dir: tb.TempDir(), bin: bin}
	certFile, keyFile := c.writeListenerCert()
	listen, mgmt := testnet.FreeAddr(tb), testnet.FreeAddr(tb)
	_, tlsPort, _ := net.SplitHostPort(testnet.FreeAddr(tb))
	tp, _ := strconv.Atoi(tlsPort)
	var cfg struct {
		Pebble map[string]any `json:"pebble"`
	}
	cfg.Pebble = map[string]any{
		"listenAddress":                  listen,
		"managementListenAddress":        mgmt,
		"certificate":                    certFile,
		"privateKey":                     keyFile,
		"httpPort":                       o.HTTPPort,
		"tlsPort":                        tp,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"keyAlgorithm":                   "ecdsa",
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"profiles": map[string]any{
			"default": map[string]any{"description": "orchard tests", "validityPeriod": int64(o.Validity / time.Second)},
		},
	}
	data, _ := json.Marshal(cfg)
	c.config = filepath.Join(c.dir, "pebble.json")
	if err := os.WriteFile(c.config, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	c.dnsAddr, c.dnsClose = startDNS(tb)
	c.env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	if o.AlwaysValid {
		c.env = append(c.env, "PEBBLE_VA_ALWAYS_VALID=1")
	}
	c.Directory = "https://" + listen + "/dir"
	c.mgmt = mgmt
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(certFile)
	pool.AppendCertsFromPEM(pem)
	c.CARootFile = certFile
	c.Client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	c.startProcess()
	tb.Cleanup(func() {
		c.Stop()
		c.dnsClose()
	})
	return c
}

// startProcess runs Pebble and waits for its directory to answer.
func (c *CA) startProcess() {
	c.tb.Helper()
	c.cmd = exec.Command(c.bin, "-config", c.config, "-dnsserver", c.dnsAddr)
	c.cmd.Env = c.env
	log, err := os.OpenFile(filepath.Join(c.dir, "pebble.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.cmd.Stdout, c.cmd.Stderr = log, log
	if err := c.cmd.Start(); err != nil {
		log.Close()
		if os.Getenv("CI") == "true" {
			c.tb.Fatalf("pebble is required in CI: %v", err)
		}
		c.tb.Skipf("pebble does not start: %v", err)
	}
	c.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		cmd.Wait()
		log.Close()
		close(done)
	}(c.cmd, c.exited)
	exited := c.exited
	testnet.WaitFor(c.tb, "pebble's directory", func() bool {
		select {
		case <-exited:
			c.tb.Fatalf("pebble exited:\n%s", c.Log())
		default:
		}
		resp, err := c.Client.Get(c.Directory)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// Stop kills Pebble (a CA that is down); Restart starts it again on the
// same addresses, with a new root and no accounts, as Pebble keeps nothing.
func (c *CA) Stop() {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Kill()
	<-c.exited
	c.cmd = nil
}

// Restart starts a stopped Pebble again.
func (c *CA) Restart() {
	c.tb.Helper()
	c.Stop()
	c.startProcess()
}

// Roots returns the pool of the roots Pebble issues from now (it makes a
// new one at each start).
func (c *CA) Roots() *x509.CertPool {
	c.tb.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.RootPEM()) {
		c.tb.Fatal("pebble's root is not PEM")
	}
	return pool
}

// RootPEM returns the root Pebble issues from, from its management port.
func (c *CA) RootPEM() []byte {
	c.tb.Helper()
	resp, err := c.Client.Get("https://" + c.mgmt + "/roots/0")
	if err != nil {
		c.tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		c.tb.Fatalf("pebble root: %d %v", resp.StatusCode, err)
	}
	return data
}

// Log returns what Pebble printed.
func (c *CA) Log() string {
	data, _ := os.ReadFile(filepath.Join(c.dir, "pebble.log"))
	if len(data) > 8<<10 {
		data = append([]byte("...\n"), data[len(data)-8<<10:]...)
	}
	return string(data)
}

// writeListenerCert makes the certificate of Pebble's HTTPS listeners.
func (c *CA) writeListenerCert() (certFile, keyFile string) {
	cert, err := selfsigned.New(selfsigned.Template{CommonName: "pebble test listener", Serial: 1,
		Names: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), CA: true})
	if err != nil {
		c.tb.Fatal(err)
	}
	certFile, keyFile = filepath.Join(c.dir, "listener.pem"), filepath.Join(c.dir, "listener.key")
	if err := cert.Write(certFile, keyFile); err != nil {
		c.tb.Fatal(err)
	}
	return certFile, keyFile
}

// startDNS serves DNS on a loopback port (internal/loopdns) for the test.
func startDNS(tb testing.TB) (string, func()) {
	tb.Helper()
	s, err := loopdns.Start()
	if err != nil {
		tb.Fatal(err)
	}
	return s.Addr, s.Close
}
