package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/certs"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/internal/pebbletest"
	"github.com/orchardhq/orchard/internal/testnet"
)

// TestMasterACME runs the master and a balancer from one cluster file with
// an [acme] table pointing at Pebble: a site created with the CLI gets a
// certificate validated through the balancer, a client trusting Pebble's
// root gets its page over HTTPS, the master's /metrics has its expiry, and
// `orchard certs` lists it.
func TestMasterACME(t *testing.T) {
	plain := testnet.FreeAddr(t)
	_, port, _ := net.SplitHostPort(plain)
	var httpPort int
	fmt.Sscan(port, &httpPort)
	ca := pebbletest.Start(t, pebbletest.Options{HTTPPort: httpPort})

	node := fakeNode(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "orchard.toml")
	body := fmt.Sprintf(`
[database]
driver = "sqlite"
path = "data/orchard.db"
[master]
listen = "127.0.0.1:0"
control = "127.0.0.1:0"
data = "data/master"
[[node]]
name = "node0"
listen = %q
control = %q
[balancer]
listen = %q
tls_listen = "127.0.0.1:0"
control = %q
[acme]
directory = %q
email = "ops@example.com"
agree_terms = true
ca_root = %q
`, node.traffic, node.control, plain, testnet.FreeAddr(t), ca.Directory, ca.CARootFile)
	if err := os.WriteFile(cfgFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, cfgFile, "", "site", "-s", "alpha.test", "-c")
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}

	o, closeLog, err := balancerOptions(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer closeLog()
	b := balancer.New(o)
	if err := b.Listen(t.Context()); err != nil {
		b.Close()
		t.Fatal(err)
	}
	defer b.Close()
	m, err := openMaster(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	roots := ca.Roots()
	var page string
	testnet.WaitFor(t, "alpha.test over HTTPS through the balancer", func() bool {
		tr := &http.Transport{TLSClientConfig: &tls.Config{ServerName: "alpha.test", RootCAs: roots}}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequest("GET", "https://"+b.TLSAddr()+"/", nil)
		req.Host = "alpha.test"
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		page = string(data)
		return resp.StatusCode == http.StatusOK
	})
	if page != "page of alpha.test" {
		t.Errorf("page = %q", page)
	}
	metrics := getMetrics(t, m.control.Addr())
	if !strings.Contains(metrics, `orchard_cert_expiry_seconds{host="alpha.test"} `) || !strings.Contains(metrics, "orchard_cert_renewal_errors_total 0") {
		t.Errorf("master metrics lack the certificate's expiry:\n%s", metrics)
	}

	out := mustCLI(t, cfgFile, "", "certs")
	if !strings.Contains(out, "alpha.test") || !strings.Contains(out, "Pebble") {
		t.Errorf("orchard certs:\n%s", out)
	}
	var list []certs.Status
	if err := json.Unmarshal([]byte(mustCLI(t, cfgFile, "", "certs", "--json")), &list); err != nil || len(list) != 1 || list[0].NotAfter.IsZero() {
		t.Errorf("orchard certs --json = %+v, %v", list, err)
	}
}

type fakeNodeAddrs struct{ traffic, control string }

// fakeNode serves "page of HOST" and a healthy orchard.HealthPath, the
// way a web node answers the balancer.
func fakeNode(t *testing.T) fakeNodeAddrs {
	t.Helper()
	serve := func(h http.HandlerFunc) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		return ln.Addr().String()
	}
	return fakeNodeAddrs{
		traffic: serve(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "page of %s", r.Host) }),
		control: serve(func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(orchard.Health{OK: true, Role: "node", Releases: map[string]string{}})
		}),
	}
}

// TestCertsCommandOff checks `orchard certs` on a cluster file without
// [acme]: it says automatic HTTPS is off, and --json is an empty list.
func TestCertsCommandOff(t *testing.T) {
	cfg := testCluster(t)
	if out := mustCLI(t, cfg, "", "certs"); !strings.Contains(out, "no [acme] table") {
		t.Errorf("orchard certs = %q", out)
	}
	if out := strings.TrimSpace(mustCLI(t, cfg, "", "certs", "--json")); out != "[]" {
		t.Errorf("orchard certs --json = %q, want []", out)
	}
}

// TestSiteHTTPSCommand checks `orchard site https`: changes reach the
// master's settings file and are printed; contradictions, bad files and
// unknown sites are refused and change nothing.
func TestSiteHTTPSCommand(t *testing.T) {
	cfg := testCluster(t)
	dir := filepath.Dir(cfg)
	mustCLI(t, cfg, "", "site", "-s", "example.com", "-c")
	settingsFile := filepath.Join(dir, "master", "https.json")
	read := func() map[string]orchard.HTTPSSettings {
		t.Helper()
		s, err := certs.LoadSettings(settingsFile)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	out := mustCLI(t, cfg, "", "site", "https", "Example.com", "--redirect", "--hsts", "24h")
	if want := "example.com: certificate automatic; redirect to HTTPS on; HSTS max-age=86400"; !strings.Contains(out, want) {
		t.Errorf("output %q lacks %q", out, want)
	}
	if got := read()["example.com"]; got != (orchard.HTTPSSettings{Redirect: true, HSTSSeconds: 86400}) {
		t.Errorf("settings = %+v", got)
	}
	mustCLI(t, cfg, "", "site", "https", "example.com", "--off", "--no-redirect")
	if got := read()["example.com"]; got != (orchard.HTTPSSettings{Off: true, HSTSSeconds: 86400}) {
		t.Errorf("after --off --no-redirect: %+v", got)
	}
	if out := mustCLI(t, cfg, "", "site", "https", "example.com"); !strings.Contains(out, "certificate off") {
		t.Errorf("showing the settings: %q", out)
	}

	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not a certificate"), 0o600)
	before := read()
	wantExits(t, cfg, "", []string{"site", "https", "example.com"}, []exitCase{
		{"OffAndOn", []string{"--off", "--on"}, 2, "contradict"},
		{"CertWithoutKey", []string{"--cert", junk}, 2, "--cert and --key go together"},
		{"BadPair", []string{"--cert", junk, "--key", junk}, 2, "--cert/--key"},
		{"NegativeHSTS", []string{"--hsts", "-1s"}, 2, "--hsts"},
	}, func(t *testing.T) {
		if got := read(); fmt.Sprint(got) != fmt.Sprint(before) {
			t.Errorf("a refused command changed the settings: %+v", got)
		}
	})
	t.Run("UnknownSite", func(t *testing.T) {
		r := runCLI(t, cfg, "", "site", "https", "nope.example", "--redirect")
		if r.code == 0 || !strings.Contains(r.err, "nope.example") && !strings.Contains(strings.ToLower(r.err), "not found") {
			t.Errorf("unknown site: exit %d %q", r.code, r.err)
		}
	})
}
