package orchard_test

import (
	"testing"

	orchard "github.com/orchardhq/orchard"
)

func TestCertSetDigest(t *testing.T) {
	a := orchard.CertSet{
		Certs: []orchard.SiteCert{
			{Names: []string{"a.example", "www.a.example"}, CertPEM: []byte("A"), KeyPEM: []byte("a")},
			{Names: []string{"b.example"}, CertPEM: []byte("B"), KeyPEM: []byte("b")},
		},
		Policies: map[string]orchard.HostPolicy{"a.example": {Redirect: true}, "b.example": {HSTSSeconds: 60}},
	}
	reordered := orchard.CertSet{
		Certs: []orchard.SiteCert{
			{Names: []string{"b.example"}, CertPEM: []byte("B"), KeyPEM: []byte("b")},
			{Names: []string{"www.a.example", "a.example"}, CertPEM: []byte("A"), KeyPEM: []byte("a")},
		},
		Policies: map[string]orchard.HostPolicy{"b.example": {HSTSSeconds: 60}, "a.example": {Redirect: true}},
	}
	if a.Digest() != reordered.Digest() {
		t.Error("the digest depends on the order of certificates or names")
	}
	if a.Certs[1].Names[0] != "b.example" || reordered.Certs[1].Names[0] != "www.a.example" {
		t.Error("Digest reordered the set it was given")
	}
	renewed := a
	renewed.Certs = []orchard.SiteCert{a.Certs[0], {Names: []string{"b.example"}, CertPEM: []byte("B2"), KeyPEM: []byte("b2")}}
	policy := a
	policy.Policies = map[string]orchard.HostPolicy{"a.example": {Redirect: true}}
	for name, other := range map[string]orchard.CertSet{"Renewed": renewed, "Policy": policy, "Empty": {}} {
		if other.Digest() == a.Digest() {
			t.Errorf("%s: a different set has the same digest", name)
		}
	}
}

func TestHTTPSSettingsValidate(t *testing.T) {
	tests := []struct {
		name string
		s    orchard.HTTPSSettings
		ok   bool
	}{
		{"Zero", orchard.HTTPSSettings{}, true},
		{"OwnFiles", orchard.HTTPSSettings{CertFile: "c.pem", KeyFile: "k.pem"}, true},
		{"CertWithoutKey", orchard.HTTPSSettings{CertFile: "c.pem"}, false},
		{"NegativeHSTS", orchard.HTTPSSettings{HSTSSeconds: -1}, false},
		{"HSTSYear", orchard.HTTPSSettings{HSTSSeconds: 31536000, Redirect: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
			if err != nil && orchard.ErrorCode(err) != orchard.EINVALID {
				t.Errorf("code = %s, want EINVALID", orchard.ErrorCode(err))
			}
		})
	}
}
