package certs

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/mholt/acmez/v3"
	"github.com/mholt/acmez/v3/acme"
)

// The ACME protocol is github.com/mholt/acmez (the client under Caddy's
// certmagic): it runs an order from end to end with the solvers it is
// given. certmagic itself is not used: it serves the certificates it
// manages from its own cache with its own timers, and here the master
// obtains while the balancers serve.

// account is the registered ACME account and the client that uses it.
type account struct {
	client *acmez.Client
	acct   acme.Account
}

// ensureAccount registers (or finds, for a key the CA knows) the account of
// the configured CA, once; its key is kept in Dir, one per CA.
func (m *Manager) ensureAccount(ctx context.Context) (*account, error) {
	if m.acct != nil {
		return m.acct, nil
	}
	key, err := m.accountKey()
	if err != nil {
		return nil, err
	}
	client := &acmez.Client{
		Client: &acme.Client{
			Directory:  m.opts.Directory,
			HTTPClient: m.opts.HTTPClient,
			UserAgent:  "orchard",
		},
		ChallengeSolvers: map[string]acmez.Solver{acme.ChallengeTypeHTTP01: http01{m}},
	}
	acct := acme.Account{
		Contact:              []string{"mailto:" + m.opts.Email},
		TermsOfServiceAgreed: m.opts.AgreeTerms,
		PrivateKey:           key,
	}
	if m.opts.EABKeyID != "" {
		eab := acme.EAB{KeyID: m.opts.EABKeyID, MACKey: strings.TrimRight(m.opts.EABHMACKey, "=")}
		if err := acct.SetExternalAccountBinding(ctx, client.Client, eab); err != nil {
			return nil, fmt.Errorf("external account binding: %w", err)
		}
	}
	acct, err = client.NewAccount(ctx, acct)
	if err != nil {
		return nil, fmt.Errorf("ACME account at %s: %w", m.opts.Directory, err)
	}
	m.acct = &account{client: client, acct: acct}
	m.log.Info("ACME account ready", "ca", m.opts.Directory, "account", acct.Location)
	return m.acct, nil
}

// accountKey loads the account key for the configured CA, or makes one.
func (m *Manager) accountKey() (*ecdsa.PrivateKey, error) {
	sum := sha256.Sum256([]byte(m.opts.Directory))
	path := m.files.path("account-" + hex.EncodeToString(sum[:6]) + ".key")
	if data, err := os.ReadFile(path); err == nil {
		block, _ := pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("account key %s: not PEM", path)
		}
		return x509.ParseECPrivateKey(block.Bytes)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("account key: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("account key: %w", err)
	}
	return key, nil
}

// obtain orders a certificate for host with a new key.
func (m *Manager) obtain(ctx context.Context, host string) (keyPair, *x509.Certificate, error) {
	a, err := m.ensureAccount(ctx)
	if err != nil {
		return keyPair{}, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyPair{}, nil, err
	}
	csr, err := acmez.NewCSR(key, []string{host})
	if err != nil {
		return keyPair{}, nil, err
	}
	params, err := acmez.OrderParametersFromCSR(a.acct, csr)
	if err != nil {
		return keyPair{}, nil, err
	}
	params.Profile = m.opts.Profile
	chains, err := a.client.ObtainCertificate(ctx, params)
	if err != nil {
		return keyPair{}, nil, err
	}
	if len(chains) == 0 {
		return keyPair{}, nil, errors.New("the CA returned no certificate")
	}
	chain := chains[0].ChainPEM
	block, _ := pem.Decode(chain)
	if block == nil {
		return keyPair{}, nil, errors.New("the CA's certificate is not PEM")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return keyPair{}, nil, fmt.Errorf("the CA's certificate: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return keyPair{}, nil, err
	}
	return keyPair{cert: chain, key: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})}, leaf, nil
}

// http01 answers HTTP-01 challenges through the balancers: Present gives
// the key authorization to every balancer before the CA is told to
// validate, so whichever one the CA reaches on port 80 answers.
type http01 struct{ m *Manager }

// Present succeeds when at least one balancer holds the challenge: the one
// the CA reaches may be it (a tier shares one address), and the CA's
// answer tells.
func (s http01) Present(ctx context.Context, chal acme.Challenge) error {
	bs := s.m.opts.Balancers
	if len(bs) == 0 {
		return fmt.Errorf("%w: the cluster file names no balancer control address", errNoBalancer)
	}
	errs := make([]error, len(bs))
	var wg sync.WaitGroup
	for i, b := range bs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, balancerTimeout)
			defer cancel()
			errs[i] = b.PutChallenge(ctx, chal.Token, chal.KeyAuthorization)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			continue
		}
		s.m.log.Warn("challenge not sent", "balancer", bs[i].Name, "host", chal.Identifier.Value, "err", err)
	}
	if slices.ContainsFunc(errs, func(err error) bool { return err == nil }) {
		return nil
	}
	return fmt.Errorf("%w: %w", errNoBalancer, errors.Join(errs...))
}

// CleanUp removes the challenge from every balancer.
func (s http01) CleanUp(ctx context.Context, chal acme.Challenge) error {
	var wg sync.WaitGroup
	for _, b := range s.m.opts.Balancers {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), balancerTimeout)
			defer cancel()
			if err := b.DeleteChallenge(ctx, chal.Token); err != nil {
				s.m.log.Debug("challenge not removed", "balancer", b.Name, "err", err)
			}
		})
	}
	wg.Wait()
	return nil
}
