package certs

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/orchardhq/orchard"
)

// The manager's directory holds, per host, HOST.crt (the chain, leaf first)
// and HOST.key (mode 0600), the account key of each CA, and state.json: the
// Status of every host (no secrets), which `orchard certs` reads.

// StateFile is the name of the state file in the manager's directory.
const StateFile = "state.json"

type files struct{ dir string }

func (f *files) path(name string) string { return filepath.Join(f.dir, name) }

// load reads the state file and every certificate it names; a host whose
// files are missing or broken is ordered again.
func (f *files) load() (map[string]*Status, map[string]keyPair, error) {
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("certificate directory: %w", err)
	}
	list, err := ReadState(f.dir)
	if err != nil {
		return nil, nil, err
	}
	status, pairs := map[string]*Status{}, map[string]keyPair{}
	for i := range list {
		st := &list[i]
		if st.Source != SourceACME {
			continue
		}
		status[st.Host] = st
		cert, err1 := os.ReadFile(f.path(st.Host + ".crt"))
		key, err2 := os.ReadFile(f.path(st.Host + ".key"))
		if err1 != nil || err2 != nil {
			continue
		}
		if _, err := tls.X509KeyPair(cert, key); err != nil {
			continue
		}
		pairs[st.Host] = keyPair{cert: cert, key: key}
	}
	return status, pairs, nil
}

// ReadState reads the state file of the manager's directory dir (none yet:
// an empty list).
func ReadState(dir string) ([]Status, error) {
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("certificate state: %w", err)
	}
	var list []Status
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("certificate state %s: %w", filepath.Join(dir, StateFile), err)
	}
	return list, nil
}

func (f *files) saveState(list []Status) error {
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(f.path(StateFile), data, 0o644)
}

// savePair writes a host's key before its certificate, each atomically, so
// a crash leaves at worst a new key with the old certificate: the pair does
// not match, and load orders it again.
func (f *files) savePair(host string, p keyPair) error {
	if err := writeFileAtomic(f.path(host+".key"), p.key, 0o600); err != nil {
		return err
	}
	return writeFileAtomic(f.path(host+".crt"), p.cert, 0o644)
}

func (f *files) remove(host string) error {
	err1 := os.Remove(f.path(host + ".crt"))
	err2 := os.Remove(f.path(host + ".key"))
	if errors.Is(err1, os.ErrNotExist) {
		err1 = nil
	}
	if errors.Is(err2, os.ErrNotExist) {
		err2 = nil
	}
	return errors.Join(err1, err2)
}

// loadOwn reads a site's own certificate files; the certificate is served
// for the names it lists (a wildcard covers the site's names).
func loadOwn(site, certFile, keyFile string) (ownCert, error) {
	cert, err := os.ReadFile(certFile)
	if err != nil {
		return ownCert{}, err
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return ownCert{}, err
	}
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		return ownCert{}, fmt.Errorf("%s and %s: %w", certFile, keyFile, err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return ownCert{}, err
	}
	names := leaf.DNSNames
	if len(names) == 0 {
		names = []string{site}
	}
	return ownCert{
		status: Status{Host: site, Site: site, Source: SourceFile, Issuer: issuerName(leaf), NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter},
		cert:   orchard.SiteCert{Names: names, CertPEM: cert, KeyPEM: key, NotAfter: leaf.NotAfter},
	}, nil
}
