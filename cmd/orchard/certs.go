package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/certs"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/publish"
)

// certsDir is where the master keeps certificates, keys and their state.
func certsDir(cfg *config.Config) string { return filepath.Join(cfg.Master.Data, "certs") }

// httpsSettingsFile is the master's file of per-site HTTPS settings.
func httpsSettingsFile(cfg *config.Config) string {
	return filepath.Join(cfg.Master.Data, "https.json")
}

// initCerts starts the certificate manager when the cluster file has an
// [acme] table.
func (m *masterServer) initCerts(ctx context.Context) error {
	if m.cfg.ACME == nil {
		return nil
	}
	mgr, err := newCertManager(m.cfg, m.store, m.logger, "")
	if err != nil {
		return err
	}
	if err := mgr.Open(ctx); err != nil {
		return err
	}
	m.certs = mgr
	return nil
}

// newCertManager builds the master's certificate manager from the cluster
// file: the CA of [acme] and every balancer's control address, reached
// with the cluster's signed calls. profile is the ACME profile to order
// ("" = the CA's default).
func newCertManager(cfg *config.Config, sites certs.SiteLister, logger *slog.Logger, profile string) (*certs.Manager, error) {
	a := cfg.ACME
	hc, err := acmeHTTPClient(a.CARoot)
	if err != nil {
		return nil, err
	}
	bhc := publish.NewHTTPClient(2)
	var bs []certs.Balancer
	for _, t := range balancerTargets(cfg) {
		bs = append(bs, certs.Balancer{
			Name: t.Name,
			Digest: func(ctx context.Context) (orchard.CertDigest, error) {
				return publish.BalancerCertDigest(ctx, bhc, cfg.Secret, t)
			},
			PutCerts: func(ctx context.Context, set *orchard.CertSet) error {
				return publish.PutBalancerCerts(ctx, bhc, cfg.Secret, t, set)
			},
			PutChallenge: func(ctx context.Context, token, keyAuth string) error {
				return publish.PutBalancerChallenge(ctx, bhc, cfg.Secret, t, token, keyAuth)
			},
			DeleteChallenge: func(ctx context.Context, token string) error {
				return publish.DeleteBalancerChallenge(ctx, bhc, cfg.Secret, t, token)
			},
		})
	}
	return certs.New(certs.Options{
		Sites:        sites,
		Dir:          certsDir(cfg),
		SettingsFile: httpsSettingsFile(cfg),
		Directory:    a.Directory,
		Email:        a.Email,
		AgreeTerms:   a.AgreeTerms,
		EABKeyID:     a.EABKeyID,
		EABHMACKey:   a.EABHMACKey,
		Profile:      profile,
		HTTPClient:   hc,
		Balancers:    bs,
		RenewWindow:  a.RenewWindow,
		Logger:       logger,
	}), nil
}

// acmeHTTPClient is the client that talks to the CA: the system's roots,
// plus caRoot's for a private CA.
func acmeHTTPClient(caRoot string) (*http.Client, error) {
	if caRoot == "" {
		return &http.Client{Timeout: time.Minute}, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	data, err := os.ReadFile(caRoot)
	if err != nil {
		return nil, fmt.Errorf("acme.ca_root: %w", err)
	}
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("acme.ca_root: %s holds no PEM certificate", caRoot)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	return &http.Client{Timeout: time.Minute, Transport: tr}, nil
}

// certsCollector exports the certificate manager's state:
// orchard_cert_expiry_seconds{host} (seconds until the certificate expires;
// Prometheus users alert on it) and orchard_cert_renewal_errors_total.
type certsCollector struct {
	m      *certs.Manager
	now    func() time.Time
	expiry *prometheus.Desc
	errors *prometheus.Desc
}

func newCertsCollector(m *certs.Manager) *certsCollector {
	return &certsCollector{
		m:      m,
		now:    time.Now,
		expiry: prometheus.NewDesc("orchard_cert_expiry_seconds", "Seconds until the host's certificate expires.", []string{"host"}, nil),
		errors: prometheus.NewDesc("orchard_cert_renewal_errors_total", "Certificate orders that failed.", nil, nil),
	}
}

func (c *certsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.expiry
	ch <- c.errors
}

func (c *certsCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	for _, st := range c.m.Status() {
		if st.NotAfter.IsZero() {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.expiry, prometheus.GaugeValue, st.NotAfter.Sub(now).Seconds(), st.Host)
	}
	ch <- prometheus.MustNewConstMetric(c.errors, prometheus.CounterValue, float64(c.m.RenewalErrors()))
}

func newCertsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "List every host's certificate: issuer, expiry, last renewal error",
		Long: `List the certificates the master keeps for automatic HTTPS ([acme] in the
cluster file): per host, where it comes from (acme, or the site's own file),
its issuer, when it expires, and the last renewal error with the CA's message.
It reads the master's data directory; the master need not run.`,
		Example: "  orchard certs\n  orchard certs --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			list, err := certs.ReadState(certsDir(cfg))
			if err != nil {
				return err
			}
			if asJSON {
				if list == nil {
					list = []certs.Status{}
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			if cfg.ACME == nil && len(list) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "Automatic HTTPS is off: the cluster file has no [acme] table.")
				return nil
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "HOST\tSITE\tSOURCE\tISSUER\tNOT AFTER\tLAST ERROR")
			for _, st := range list {
				notAfter, issuer, lastErr := "-", "-", "-"
				if !st.NotAfter.IsZero() {
					notAfter = st.NotAfter.UTC().Format(time.RFC3339)
				}
				if st.Issuer != "" {
					issuer = st.Issuer
				}
				if st.LastError != "" {
					lastErr = fmt.Sprintf("%s (%d in a row; next try %s)", oneLine(st.LastError), st.Failures, st.NextTry.UTC().Format(time.RFC3339))
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", st.Host, st.Site, st.Source, oneLine(issuer), notAfter, lastErr)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the list as JSON")
	return cmd
}
