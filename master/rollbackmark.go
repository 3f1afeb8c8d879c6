package master

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// RollbackMark records that a site was rolled back, so that the next publish
// of a newer release can say that it undoes the rollback.
type RollbackMark struct {
	From string    `json:"from"` // release active before the rollback
	To   string    `json:"to"`   // release the rollback activated
	At   time.Time `json:"at"`
}

// rollbackMarkPath is where the master's data dir keeps site's mark. site
// passed NormalizeHost: a DNS name, never a path.
func rollbackMarkPath(data, site string) string {
	return filepath.Join(data, "rollbacks", site+".json")
}

func saveRollbackMark(data, site string, m RollbackMark) error {
	p := rollbackMarkPath(data, site)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// RollbackMark returns site's mark, nil when it has none (or an unreadable
// one: the mark only decides whether a publish asks first).
func (s *Service) RollbackMark(site string) *RollbackMark {
	return loadRollbackMark(s.dataDir(), site)
}

func loadRollbackMark(data, site string) *RollbackMark {
	b, err := os.ReadFile(rollbackMarkPath(data, site))
	if err != nil {
		return nil
	}
	var m RollbackMark
	if json.Unmarshal(b, &m) != nil || m.To == "" {
		return nil
	}
	return &m
}

func clearRollbackMark(data, site string) error {
	err := os.Remove(rollbackMarkPath(data, site))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// RolledBack returns the sites that have a rollback mark, sorted: a
// publish of many sites looks at their marks alone, not at every site's.
func (s *Service) RolledBack() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(s.dataDir(), "rollbacks"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("list rollback marks: %w", err)
	}
	var out []string
	for _, e := range ents {
		if site, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() {
			out = append(out, site)
		}
	}
	return out, nil
}
