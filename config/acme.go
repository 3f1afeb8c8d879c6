package config

import (
	"encoding/base64"
	"net/url"
	"strings"
)

// Defaults of the [acme] table.
const (
	// DefaultACMEDirectory is Let's Encrypt's production directory.
	DefaultACMEDirectory = "https://acme-v02.api.letsencrypt.org/directory"
	// DefaultRenewWindow is the fraction of a certificate's lifetime left
	// when it is renewed (a third, as Let's Encrypt advises).
	DefaultRenewWindow = 1.0 / 3
)

// ACME turns on automatic HTTPS: the master obtains a certificate for every
// site host and alias from an RFC 8555 CA and pushes them to the balancers.
// Without an [acme] table (Config.ACME nil) it is off.
type ACME struct {
	Directory  string `toml:"directory"`    // the CA's directory URL (default Let's Encrypt production)
	Email      string `toml:"email"`        // contact address for the account (required)
	AgreeTerms bool   `toml:"agree_terms"`  // the CA's terms of service are accepted (required)
	EABKeyID   string `toml:"eab_kid"`      // external account binding key id, for CAs that need one
	EABHMACKey string `toml:"eab_hmac_key"` // its base64url HMAC key
	// CARoot is a PEM file of roots trusted for the CA's own HTTPS (a private
	// CA such as Pebble); "" trusts the system's roots.
	CARoot string `toml:"ca_root"`
	// RenewWindow is the fraction of a certificate's lifetime left when it
	// is renewed (default 1/3).
	RenewWindow float64 `toml:"renew_window"`
}

func (c *Config) setACMEDefaults() {
	a := c.ACME
	if a == nil {
		return
	}
	if a.Directory == "" {
		a.Directory = DefaultACMEDirectory
	}
	if a.RenewWindow == 0 {
		a.RenewWindow = DefaultRenewWindow
	}
	if a.CARoot != "" {
		a.CARoot = c.abs(a.CARoot)
	}
}

func (v *validator) validateACME(c *Config) {
	a := c.ACME
	if a == nil {
		return
	}
	if u, err := url.Parse(a.Directory); err != nil || u.Scheme != "https" || u.Host == "" {
		v.fail("acme.directory", "%q must be an https:// URL of an ACME directory", a.Directory)
	}
	if at := strings.IndexByte(a.Email, '@'); at < 1 || at == len(a.Email)-1 || strings.ContainsAny(a.Email, " \t\r\n,") {
		v.fail("acme.email", "is required: the contact address the CA writes to about expiring certificates")
	}
	if !a.AgreeTerms {
		v.fail("acme.agree_terms", "must be true: the CA issues only to accounts that accept its terms of service")
	}
	if (a.EABKeyID == "") != (a.EABHMACKey == "") {
		v.fail("acme.eab_kid", "eab_kid and eab_hmac_key go together")
	} else if a.EABHMACKey != "" {
		if _, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(a.EABHMACKey, "=")); err != nil {
			v.fail("acme.eab_hmac_key", "is not base64url, as the CA hands it out")
		}
	}
	if a.RenewWindow <= 0 || a.RenewWindow >= 1 {
		v.fail("acme.renew_window", "must be between 0 and 1 (the fraction of the lifetime left at renewal)")
	}
	b := &c.Balancer
	if b.TLSListen == "" {
		v.fail("balancer.tls_listen", "is required with [acme]: the balancer serves the certificates there")
	}
	if len(c.BalancerControls()) == 0 {
		v.fail("balancer.control", "is required with [acme]: the master pushes certificates to it")
	}
}
