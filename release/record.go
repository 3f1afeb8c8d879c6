package release

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// record is what a build remembers beside its manifest so the next build can
// be incremental: the hash of every input and, per output, its manifest key,
// content type and the inputs it was rendered from.
type record struct {
	Inputs  map[string]string       `json:"inputs"`
	Outputs map[string]recordOutput `json:"outputs"` // by output path
}

type recordOutput struct {
	Key         string   `json:"key"`
	ContentType string   `json:"type"`
	Deps        []string `json:"deps"` // sorted
}

// reusable reports whether output o, last built as old under old inputs,
// renders the same under the new inputs: same key, type and deps, and no
// dep whose hash changed, appeared or vanished.
func (r *record) reusable(key string, o Output, deps []string, inputs map[string]string) bool {
	old, ok := r.Outputs[o.Path]
	if !ok || old.Key != key || old.ContentType != o.ContentType || !slices.Equal(old.Deps, deps) {
		return false
	}
	for _, d := range deps {
		h1, ok1 := r.Inputs[d]
		h2, ok2 := inputs[d]
		if ok1 != ok2 || h1 != h2 {
			return false
		}
	}
	return true
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
