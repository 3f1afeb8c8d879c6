package certs

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/orchardhq/orchard"
)

// The per-site HTTPS settings are a JSON object in the master's data
// directory, host -> orchard.HTTPSSettings. They are not in the SQL store
// on purpose: they are few, read by the manager alone, and written by
// `orchard site https` on the master's machine.

// maxSettingsBytes bounds the settings file (about 100 bytes per site).
const maxSettingsBytes = 16 << 20

// LoadSettings reads the settings file at path; a missing file is no
// settings (every site has the defaults).
func LoadSettings(path string) (map[string]orchard.HTTPSSettings, error) {
	out := map[string]orchard.HTTPSSettings{}
	if path == "" {
		return out, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	} else if err != nil {
		return nil, fmt.Errorf("HTTPS settings: %w", err)
	}
	if len(data) > maxSettingsBytes {
		return nil, fmt.Errorf("HTTPS settings %s: larger than %d bytes", path, maxSettingsBytes)
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("HTTPS settings %s: %w", path, err)
	}
	for host, s := range out {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("HTTPS settings %s: %s: %s", path, host, orchard.ErrorMessage(err))
		}
	}
	return out, nil
}

// SaveSettings writes the settings file at path atomically (a temporary
// file, fsync, rename): the manager never reads half a file.
func SaveSettings(path string, settings map[string]orchard.HTTPSSettings) error {
	for host, s := range settings {
		if s == (orchard.HTTPSSettings{}) {
			delete(settings, host) // the defaults need no line
		}
	}
	data, err := json.MarshalIndent(settings, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'), 0o644)
}

// writeFileAtomic replaces path with data: readers see the old file or the
// new one, and a crash leaves one of them.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing to remove
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// SettingsFile reads and changes one site's settings in the file at Path,
// for the admin UI; the mutex keeps two of its saves from losing each other.
type SettingsFile struct {
	Path string
	mu   sync.Mutex
}

// Get returns host's settings (the defaults when it has none).
func (f *SettingsFile) Get(host string) (orchard.HTTPSSettings, error) {
	all, err := LoadSettings(f.Path)
	if err != nil {
		return orchard.HTTPSSettings{}, err
	}
	return all[host], nil
}

// Set validates and saves host's settings, keeping every other site's.
func (f *SettingsFile) Set(host string, s orchard.HTTPSSettings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	all, err := LoadSettings(f.Path)
	if err != nil {
		return err
	}
	all[host] = s
	return SaveSettings(f.Path, all)
}
