package release

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// record is what a build remembers beside its manifest so the next build can
// be incremental: per output, its manifest key, content type and a digest of
// its inputs (their keys and hashes).
type record struct {
	Outputs map[string]recordOutput `json:"outputs"` // by output path
}

type recordOutput struct {
	Key         string `json:"key"`
	ContentType string `json:"type"`
	Sum         string `json:"sum"` // depsSum of the inputs it was rendered from
}

// depsSum digests an output's sorted deps with each one's current hash (or
// its absence), so two sums are equal exactly when the output depends on the
// same inputs and none of them changed, appeared or vanished.
func depsSum(deps []string, inputs map[string]string) string {
	h := sha256.New()
	for _, d := range deps {
		v, ok := inputs[d]
		h.Write([]byte(d))
		if ok {
			h.Write([]byte{0, 1})
			h.Write([]byte(v))
		} else {
			h.Write([]byte{0, 0})
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// reusable reports whether output o, last built under the record, renders
// the same now: same key, type and deps digest.
func (r *record) reusable(key string, o Output, sum string) bool {
	old, ok := r.Outputs[o.Path]
	return ok && old.Key == key && old.ContentType == o.ContentType && old.Sum == sum
}

func (s *Store) recordPath(site, id string) string {
	return filepath.Join(s.releasesDir(site), id+".build")
}

// loadRecord returns the build record of a release, or nil when it has none
// (a release that came by publish) or it cannot be read.
func (s *Store) loadRecord(site, id string) *record {
	data, err := os.ReadFile(s.recordPath(site, id))
	if err != nil {
		return nil
	}
	var r record
	if json.Unmarshal(data, &r) != nil || r.Outputs == nil {
		return nil
	}
	return &r
}

func (s *Store) saveRecord(site, id string, r *record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("save build record %s/%s: %w", site, id, err)
	}
	if err := writeFileAtomic(s.recordPath(site, id), data); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("save build record %s/%s: %w", site, id, err)
	}
	return nil
}
