package orchard

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// CertsPath is the signed control endpoint on a balancer's control listener
// for the certificates it serves: GET answers a CertDigest of the set it
// holds, PUT with a CertSet replaces the whole set. The master PUTs when
// its set changes and GETs periodically, so a balancer that started or was
// down catches up.
const CertsPath = "/_orchard/v1/certs"

// ChallengesPath is the signed control endpoint on a balancer's control
// listener for pending ACME HTTP-01 challenges: PUT ChallengesPath/{token}
// with the key authorization as body adds one, DELETE removes it. The
// master adds a challenge to every balancer before it asks the CA to
// validate, so whichever balancer the CA reaches can answer.
const ChallengesPath = "/_orchard/v1/challenges"

// ACMEChallengePrefix is where an ACME CA fetches an HTTP-01 challenge
// (RFC 8555 section 8.3) on port 80 of the name being validated.
const ACMEChallengePrefix = "/.well-known/acme-challenge/"

// SiteCert is a certificate and its private key as the master pushes them to
// the balancers. Names are lower-case host names, "*.example.com" for a
// wildcard.
type SiteCert struct {
	Names    []string  `json:"names"`
	CertPEM  []byte    `json:"cert_pem"` // the chain, leaf first
	KeyPEM   []byte    `json:"key_pem"`  // secret: never logged
	NotAfter time.Time `json:"not_after"`
}

// HostPolicy is what a balancer does for one host besides serving its
// certificate.
type HostPolicy struct {
	// Redirect sends plain-HTTP requests (except ACME challenges) to
	// https:// with 301.
	Redirect bool `json:"redirect,omitempty"`
	// HSTSSeconds is the Strict-Transport-Security max-age sent on HTTPS
	// responses; 0 sends none.
	HSTSSeconds int64 `json:"hsts_seconds,omitempty"`
}

// CertSet is every certificate the balancers serve and the HTTPS policy of
// each host, as the master holds it.
type CertSet struct {
	Certs    []SiteCert            `json:"certs"`
	Policies map[string]HostPolicy `json:"policies,omitempty"` // by lower-case host
}

// CertDigest is a balancer's answer to GET CertsPath.
type CertDigest struct {
	Digest string `json:"digest"` // CertSet.Digest of the set held; "" = none yet
	Certs  int    `json:"certs"`
}

// Digest returns a hash of the set that does not depend on the order of its
// certificates or names: two sets with equal digests serve the same.
func (s *CertSet) Digest() string {
	certs := slices.Clone(s.Certs)
	for i := range certs {
		certs[i].Names = slices.Sorted(slices.Values(certs[i].Names))
	}
	slices.SortFunc(certs, func(a, b SiteCert) int {
		return strings.Compare(strings.Join(a.Names, ","), strings.Join(b.Names, ","))
	})
	// Map keys are written sorted by encoding/json.
	data, _ := json.Marshal(CertSet{Certs: certs, Policies: s.Policies})
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// HTTPSSettings are one site's HTTPS choices, kept by the master. The zero
// value is the default: an automatic certificate for the host and every
// alias, no redirect, no HSTS.
type HTTPSSettings struct {
	// Off opts the site out of automatic certificates.
	Off bool `json:"off,omitempty"`
	// CertFile and KeyFile are a certificate obtained elsewhere (a
	// wildcard, say) served for the site instead of an automatic one.
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
	// Redirect and HSTSSeconds become the HostPolicy of the site's names.
	Redirect    bool  `json:"redirect,omitempty"`
	HSTSSeconds int64 `json:"hsts_seconds,omitempty"`
}

// Validate checks the settings (EINVALID).
func (s *HTTPSSettings) Validate() error {
	if (s.CertFile == "") != (s.KeyFile == "") {
		return Errorf(EINVALID, "A certificate file and its key file go together.")
	}
	if s.HSTSSeconds < 0 || s.HSTSSeconds > 2*365*24*3600 {
		return Errorf(EINVALID, "HSTS max-age must be between 0 and two years.")
	}
	return nil
}
