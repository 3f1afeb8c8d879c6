package config

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// minSecretLen is the shortest secret accepted, in bytes of its text form.
const minSecretLen = 32

// loadSecret reads the cluster secret, creating a random one (mode 0600)
// when the file does not exist.
func loadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return createSecret(path)
	} else if err != nil {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret file %s is readable by others (mode %o); run chmod 600 on it", path, st.Mode().Perm())
	}
	b = bytes.TrimSpace(b)
	if len(b) < minSecretLen {
		return nil, fmt.Errorf("secret in %s is shorter than %d bytes", path, minSecretLen)
	}
	return b, nil
}

func createSecret(path string) ([]byte, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	s := []byte(hex.EncodeToString(raw))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create secret: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return loadSecret(path) // another process created it first
	} else if err != nil {
		return nil, fmt.Errorf("create secret: %w", err)
	}
	if _, err := f.Write(append(s, '\n')); err != nil {
		f.Close()
		return nil, fmt.Errorf("write secret: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return s, f.Close()
}
