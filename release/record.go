package release

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/orchardhq/orchard"
)

// record is what a build remembers beside its manifest so the next build can
// be incremental: per output, its manifest key, content type, a digest of
// its inputs and the manifest entry it produced, so that reusing an output
// needs neither the previous manifest nor a render.
type record struct {
	Outputs []recordOutput // sorted by Path, each path once
}

type recordOutput struct {
	Path        string // the output's path
	Key         string
	ContentType string
	Sum         string                // depsSum of the inputs it was rendered from
	Entry       orchard.ManifestEntry // what it produced
}

// depsSum digests an output's sorted deps with each one's current hash (or
// its absence), so two sums are equal exactly when the output depends on the
// same inputs and none of them changed, appeared or vanished.
func depsSum(deps []string, inputs map[string]string) string {
	var h depsHasher
	return h.sum(deps, inputs)
}

// depsHasher computes depsSum with a reused hash and buffer (one per
// goroutine).
type depsHasher struct {
	h   hash.Hash
	buf []byte
	out [sha256.Size]byte
}

func (x *depsHasher) sum(deps []string, inputs map[string]string) string {
	if x.h == nil {
		x.h = sha256.New()
	}
	x.h.Reset()
	b := x.buf[:0]
	for _, d := range deps {
		v, ok := inputs[d]
		b = append(b, d...)
		if ok {
			b = append(b, 0, 1)
			b = append(b, v...)
		} else {
			b = append(b, 0, 0)
		}
		b = append(b, 0)
	}
	x.h.Write(b)
	x.buf = b
	return hex.EncodeToString(x.h.Sum(x.out[:0])[:16])
}

// HasBuildRecord reports whether the newest release of site has a build
// record, so that a build of it can be incremental.
func (s *Store) HasBuildRecord(site string) bool {
	if checkSite(site) != nil {
		return false
	}
	rels, err := s.Releases(site)
	if err != nil || len(rels) == 0 {
		return false
	}
	_, err = os.Stat(s.recordPath(site, rels[0].ID))
	return err == nil
}

// reusable returns the manifest entry of output o, last built under the
// record, when it renders the same now: same key, type and deps digest.
func (r *record) reusable(key string, o Output, sum string) (orchard.ManifestEntry, bool) {
	i, ok := slices.BinarySearchFunc(r.Outputs, o.Path, func(x recordOutput, path string) int { return strings.Compare(x.Path, path) })
	if !ok {
		return orchard.ManifestEntry{}, false
	}
	old := r.Outputs[i]
	if old.Key != key || old.ContentType != o.ContentType || old.Sum != sum {
		return orchard.ManifestEntry{}, false
	}
	return old.Entry, true
}

func (s *Store) recordPath(site, id string) string {
	return filepath.Join(s.releasesDir(site), id+".build")
}

// loadRecord returns the build record of a release, or nil when it has none
// (a release that came by publish), it cannot be read, or it is in an older
// format (the next build is then a full one).
func (s *Store) loadRecord(site, id string) *record {
	return readCacheFile(s.recordPath(site, id), decodeRecord)
}

func (s *Store) saveRecord(site, id string, r *record) error {
	// The record only speeds up the next build: a record lost in a crash
	// makes that build a full one, so it is not fsynced. It may be written
	// before the site's first manifest, which makes the directory too.
	if err := os.MkdirAll(s.releasesDir(site), 0o755); err != nil {
		return fmt.Errorf("save build record %s/%s: %w", site, id, err)
	}
	if err := WriteCacheFile(s.recordPath(site, id), r.encode()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("save build record %s/%s: %w", site, id, err)
	}
	return nil
}
