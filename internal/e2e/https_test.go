package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/orchardhq/orchard/internal/sample"
)

// TestDemoHTTPS runs `orchard demo --https` as a user would: it prints an
// https:// URL for the first sample site and a CA file, and a client that
// trusts only that file gets the site's page over HTTP/2 with a
// certificate for its name, obtained from the demo's Pebble through the
// master and validated through the balancer.
func TestDemoHTTPS(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-cluster test")
	}
	d := startDemoWith(t, orchardBin(t), "--https", "--nodes", "1")
	out, _ := os.ReadFile(d.out.Name())
	m := regexp.MustCompile(`https://` + regexp.QuoteMeta(sample.AlphaHost) + `:(\d+)/`).FindSubmatch(out)
	ca := regexp.MustCompile(`trust (\S+\.pem)`).FindSubmatch(out)
	if m == nil || ca == nil {
		t.Fatalf("the demo printed no HTTPS URL or CA file:\n%s", out)
	}
	rootPEM, err := os.ReadFile(string(ca[1]))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("%s holds no certificate", ca[1])
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: sample.AlphaHost}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("GET", "https://127.0.0.1:"+string(m[1])+"/", nil)
	req.Host = sample.AlphaHost
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET https://%s:%s/: %v", sample.AlphaHost, m[1], err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	leaf := resp.TLS.PeerCertificates[0]
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || leaf.VerifyHostname(sample.AlphaHost) != nil || !strings.Contains(leaf.Issuer.CommonName, "Pebble") {
		t.Errorf("status %d %s, certificate %v from %q; want 200 over HTTP/2 with Pebble's certificate for %s",
			resp.StatusCode, resp.Proto, leaf.DNSNames, leaf.Issuer.CommonName, sample.AlphaHost)
	}
	if !strings.Contains(string(body), "<html") && !strings.Contains(string(body), "<!DOCTYPE") {
		t.Errorf("the page is not HTML: %.200s", body)
	}
	if out := d.run(t, "", "certs"); !strings.Contains(out, sample.BlogHost) {
		t.Errorf("orchard certs lacks %s:\n%s", sample.BlogHost, out)
	}
}
