package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/orchardhq/orchard"
)

// Certificates and ACME challenges reach the balancers over the signed
// control protocol (orchard.CertsPath, orchard.ChallengesPath); the
// master's certificate manager calls these. The answers are not signed:
// they only decide whether the master sends again.

// BalancerCertDigest asks the balancer t which certificate set it holds.
func BalancerCertDigest(ctx context.Context, hc *http.Client, secret []byte, t Target) (orchard.CertDigest, error) {
	var d orchard.CertDigest
	c := newClient(t.ControlAddr, BalancerTarget, secret, defaultClient(hc))
	resp, _, err := c.do(ctx, "GET", orchard.CertsPath, nil, "")
	if err != nil {
		return d, fmt.Errorf("certificate digest of balancer %s: %w", t.Name, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&d); err != nil {
		return d, fmt.Errorf("%w: decode answer of balancer %s: %v", ErrInvalid, t.Name, err)
	}
	return d, nil
}

// PutBalancerCerts replaces the certificate set of the balancer t.
func PutBalancerCerts(ctx context.Context, hc *http.Client, secret []byte, t Target, set *orchard.CertSet) error {
	body, err := json.Marshal(set)
	if err != nil {
		return err
	}
	c := newClient(t.ControlAddr, BalancerTarget, secret, defaultClient(hc))
	resp, _, err := c.doType(ctx, "PUT", orchard.CertsPath, body, "", "application/json")
	if err != nil {
		return fmt.Errorf("certificates to balancer %s: %w", t.Name, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.Body.Close()
}

// PutBalancerChallenge makes the balancer t answer the HTTP-01 challenge
// token with keyAuth.
func PutBalancerChallenge(ctx context.Context, hc *http.Client, secret []byte, t Target, token, keyAuth string) error {
	c := newClient(t.ControlAddr, BalancerTarget, secret, defaultClient(hc))
	resp, _, err := c.doType(ctx, "PUT", orchard.ChallengesPath+"/"+url.PathEscape(token), []byte(keyAuth), "", "text/plain")
	if err != nil {
		return fmt.Errorf("challenge to balancer %s: %w", t.Name, err)
	}
	return resp.Body.Close()
}

// DeleteBalancerChallenge makes the balancer t forget the challenge token.
func DeleteBalancerChallenge(ctx context.Context, hc *http.Client, secret []byte, t Target, token string) error {
	c := newClient(t.ControlAddr, BalancerTarget, secret, defaultClient(hc))
	resp, _, err := c.do(ctx, "DELETE", orchard.ChallengesPath+"/"+url.PathEscape(token), nil, "")
	if err != nil {
		return fmt.Errorf("challenge removal on balancer %s: %w", t.Name, err)
	}
	return resp.Body.Close()
}
