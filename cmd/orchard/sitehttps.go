package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/certs"
	"github.com/orchardhq/orchard/config"
)

// siteHTTPSFlags are the flags of `orchard site https`.
type siteHTTPSFlags struct {
	off, on, auto     bool
	certFile, keyFile string
	redirect, noRedir bool
	hsts              time.Duration
	hstsSet           bool
}

func newSiteHTTPSCmd() *cobra.Command {
	var f siteHTTPSFlags
	cmd := &cobra.Command{
		Use:   "https HOST [--off|--on] [--cert FILE --key FILE | --auto] [--redirect|--no-redirect] [--hsts DUR]",
		Short: "Show or change a site's HTTPS settings",
		Long: `Show or change how a site is served over HTTPS when the cluster file has
an [acme] table. By default every site gets an automatic certificate for its
host and every alias, no redirect and no HSTS. The master applies a change
within its check interval (15 s); the settings live in <master data>/https.json.

  --off / --on          opt the site out of automatic certificates, or back in
  --cert F --key F      serve a certificate obtained elsewhere (a wildcard, say)
  --auto                back to an automatic certificate
  --redirect            answer plain HTTP with 301 to https:// (not ACME challenges)
  --hsts DUR            send Strict-Transport-Security with max-age DUR (0 = none)`,
		Example: "  orchard site https example.com --redirect --hsts 8760h\n  orchard site https example.com --cert wild.pem --key wild.key",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.hstsSet = cmd.Flags().Changed("hsts")
			return withStore(cmd, func(ctx context.Context, cfg *config.Config, st orchard.Store) error {
				return runSiteHTTPS(ctx, cmd, cfg, st, args[0], &f)
			})
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.off, "off", false, "no automatic certificate for this site")
	fl.BoolVar(&f.on, "on", false, "automatic certificates again (undoes --off)")
	fl.StringVar(&f.certFile, "cert", "", "the site's own certificate chain `FILE` (PEM), with --key")
	fl.StringVar(&f.keyFile, "key", "", "the private key `FILE` of --cert (PEM)")
	fl.BoolVar(&f.auto, "auto", false, "drop --cert/--key: an automatic certificate again")
	fl.BoolVar(&f.redirect, "redirect", false, "redirect plain HTTP to HTTPS (301)")
	fl.BoolVar(&f.noRedir, "no-redirect", false, "stop redirecting plain HTTP")
	fl.DurationVar(&f.hsts, "hsts", 0, "Strict-Transport-Security max-age, e.g. 8760h; 0 = none")
	return cmd
}

func runSiteHTTPS(ctx context.Context, cmd *cobra.Command, cfg *config.Config, st orchard.Store, raw string, f *siteHTTPSFlags) error {
	host, err := orchard.NormalizeHost(raw)
	if err != nil {
		return usagef("%s", orchard.ErrorMessage(err))
	}
	if _, err := st.Site(ctx, host); err != nil {
		return storeError(err)
	}
	switch {
	case f.off && f.on:
		return usagef("--off and --on contradict each other")
	case f.redirect && f.noRedir:
		return usagef("--redirect and --no-redirect contradict each other")
	case (f.certFile == "") != (f.keyFile == ""):
		return usagef("--cert and --key go together")
	case f.auto && f.certFile != "":
		return usagef("--auto and --cert contradict each other")
	case f.hsts < 0 || f.hsts%time.Second != 0:
		return usagef("--hsts must be whole seconds, 0 or more (e.g. 8760h)")
	}
	path := httpsSettingsFile(cfg)
	all, err := certs.LoadSettings(path)
	if err != nil {
		return err
	}
	s := all[host]
	changed := false
	set := func(apply func()) {
		apply()
		changed = true
	}
	if f.off || f.on {
		set(func() { s.Off = f.off })
	}
	if f.certFile != "" {
		cert, key, err := absPair(f.certFile, f.keyFile)
		if err != nil {
			return err
		}
		set(func() { s.CertFile, s.KeyFile = cert, key })
	}
	if f.auto {
		set(func() { s.CertFile, s.KeyFile = "", "" })
	}
	if f.redirect || f.noRedir {
		set(func() { s.Redirect = f.redirect })
	}
	if f.hstsSet {
		set(func() { s.HSTSSeconds = int64(f.hsts / time.Second) })
	}
	if err := s.Validate(); err != nil {
		return usagef("%s", orchard.ErrorMessage(err))
	}
	if changed {
		all[host] = s
		if err := certs.SaveSettings(path, all); err != nil {
			return err
		}
	}
	out := cmd.OutOrStdout()
	cert := "automatic"
	switch {
	case s.CertFile != "":
		cert = "own: " + s.CertFile
	case s.Off:
		cert = "off"
	}
	fmt.Fprintf(out, "%s: certificate %s; redirect to HTTPS %s; HSTS %s\n", host, cert, onOff(s.Redirect), hstsString(s.HSTSSeconds))
	if cfg.ACME == nil {
		fmt.Fprintln(out, "Note: the cluster file has no [acme] table: automatic HTTPS is off, these settings wait for it.")
	}
	return nil
}

// absPair checks that the files hold a matching certificate and key and
// returns their absolute paths (the master reads them from its own
// working directory).
func absPair(certFile, keyFile string) (string, string, error) {
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		return "", "", usagef("--cert/--key: %v", err)
	}
	cert, err := filepath.Abs(certFile)
	if err != nil {
		return "", "", err
	}
	key, err := filepath.Abs(keyFile)
	return cert, key, err
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func hstsString(sec int64) string {
	if sec == 0 {
		return "off"
	}
	return fmt.Sprintf("max-age=%d (%s)", sec, time.Duration(sec)*time.Second)
}
