package config_test

import (
	"strings"
	"testing"

	"github.com/orchardhq/orchard/config"
)

const acmeBase = "[balancer]\ntls_listen = \"127.0.0.1:8443\"\ncontrol = \"127.0.0.1:8100\"\n"

func TestACME(t *testing.T) {
	t.Run("Off", func(t *testing.T) {
		c, err := config.Parse("/x/orchard.toml", []byte("[balancer]\nlisten = \"127.0.0.1:8000\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if c.ACME != nil {
			t.Errorf("ACME enabled without an [acme] table: %+v", c.ACME)
		}
		out, err := c.TOML()
		if err != nil {
			t.Fatal(err)
		}
		again, err := config.Parse("/x/orchard.toml", out)
		if err != nil || again.ACME != nil {
			t.Errorf("printed file turns ACME on (%v):\n%s", err, out)
		}
	})
	t.Run("Defaults", func(t *testing.T) {
		c, err := config.Parse("/x/orchard.toml", []byte(acmeBase+"[acme]\nemail = \"ops@example.com\"\nagree_terms = true\nca_root = \"pebble.pem\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		a := c.ACME
		if a == nil || a.Directory != config.DefaultACMEDirectory || a.RenewWindow != 1.0/3 || a.CARoot != "/x/pebble.pem" {
			t.Errorf("acme = %+v, want enabled, Let's Encrypt production, window 1/3, root /x/pebble.pem", a)
		}
	})
}

func TestACMEErrors(t *testing.T) {
	ok := "[acme]\nemail = \"ops@example.com\"\nagree_terms = true\n"
	tests := []struct {
		name, file string
		want       string
	}{
		{"NoEmail", acmeBase + "[acme]\nagree_terms = true\n", ":4: acme.email: is required"},
		{"TermsNotAccepted", acmeBase + "[acme]\nemail = \"ops@example.com\"\n", ":4: acme.agree_terms: must be true"},
		{"TermsFalse", acmeBase + "[acme]\nemail = \"ops@example.com\"\nagree_terms = false\n", ":6: acme.agree_terms: must be true"},
		{"HTTPDirectory", acmeBase + ok + "directory = \"http://ca.example/dir\"\n", ":7: acme.directory: \"http://ca.example/dir\" must be an https:// URL"},
		{"EABHalf", acmeBase + ok + "eab_kid = \"kid\"\n", ":7: acme.eab_kid: eab_kid and eab_hmac_key go together"},
		{"EABNotBase64", acmeBase + ok + "eab_kid = \"kid\"\neab_hmac_key = \"not base64!\"\n", ":8: acme.eab_hmac_key: is not base64url"},
		{"BadWindow", acmeBase + ok + "renew_window = 1.5\n", ":7: acme.renew_window: must be between 0 and 1"},
		{"NoTLSListen", "[balancer]\ncontrol = \"127.0.0.1:8100\"\n" + ok, ":1: balancer.tls_listen: is required with [acme]"},
		{"NoControl", "[balancer]\ntls_listen = \"127.0.0.1:8443\"\n" + ok, ":1: balancer.control: is required with [acme]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("/x/orchard.toml", []byte(tt.file))
			if err == nil {
				t.Fatalf("Parse succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}
