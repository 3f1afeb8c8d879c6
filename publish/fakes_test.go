package publish_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orchardhq/orchard"
)

// memBlobs is an in-memory content-addressed store with the semantics the
// protocol expects of release.Blobs; failPut makes every write fail like a
// read-only disk.
type memBlobs struct {
	mu      sync.Mutex
	m       map[string][]byte
	failPut bool
}

var errHashMismatch = errors.New("hash mismatch")

func newMemBlobs() *memBlobs { return &memBlobs{m: map[string][]byte{}} }

func (b *memBlobs) Has(sha string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.m[sha]
	return ok
}

func (b *memBlobs) PutVerified(sha string, r io.Reader, maxBytes int64) error {
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return fmt.Errorf("read blob: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return errors.New("blob too large")
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != sha {
		return errHashMismatch
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failPut {
		return &fs.PathError{Op: "open", Path: "/blobs/tmp", Err: errors.New("read-only file system")}
	}
	b.m[sha] = data
	return nil
}

func (b *memBlobs) Get(sha string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.m[sha]
	if !ok {
		return nil, fmt.Errorf("blob %s: %w", sha, fs.ErrNotExist)
	}
	return d, nil
}

func (b *memBlobs) put(data []byte) string {
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	b.mu.Lock()
	b.m[sha] = bytes.Clone(data)
	b.mu.Unlock()
	return sha
}

func (b *memBlobs) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}

// memState is a node's active releases, refusing incomplete ones.
type memState struct {
	mu     sync.Mutex
	blobs  interface{ Has(sha string) bool } // *memBlobs or *release.Blobs
	active map[string]memActive              // site -> its active release
	listed atomic.Int64                      // calls of Releases (a listing of every site)
}

type memActive struct {
	id string
	m  *orchard.Manifest
}

func newMemState(b interface{ Has(sha string) bool }) *memState {
	return &memState{blobs: b, active: map[string]memActive{}}
}

func (s *memState) Activate(site, id string, m *orchard.Manifest, encoded []byte) error {
	for _, e := range m.Files {
		if !s.blobs.Has(e.SHA256) || (e.Gzip != "" && !s.blobs.Has(e.Gzip)) {
			return errors.New("blobs missing")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active[site] = memActive{id: id, m: m}
	return nil
}

func (s *memState) Releases() map[string]string {
	s.listed.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for site, a := range s.active {
		out[site] = a.id
	}
	return out
}

func (s *memState) ActiveCreated(site string) (string, time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.active[site]
	if !ok {
		return "", time.Time{}, false
	}
	return a.id, a.m.Created, true
}

// Manifest returns the active release of site when it is id, as a
// node's store reads it back (the receiver's stageMissing).
func (s *memState) Manifest(site, id string) (*orchard.Manifest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.active[site]
	if !ok || a.id != id {
		return nil, fmt.Errorf("release %s of %s: %w", id, site, fs.ErrNotExist)
	}
	return a.m, nil
}

// memCatalog is the master's record of releases.
type memCatalog struct {
	mu        sync.Mutex
	manifests map[string]*orchard.Manifest // id -> manifest
	active    map[string]string
	version   int
	moves     [][2]string // site, id: the last move made version
}

func newMemCatalog() *memCatalog {
	return &memCatalog{manifests: map[string]*orchard.Manifest{}, active: map[string]string{}}
}

func (c *memCatalog) add(m *orchard.Manifest) {
	c.mu.Lock()
	c.manifests[m.ID()] = m
	c.mu.Unlock()
}

func (c *memCatalog) Active() (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]string{}
	for k, v := range c.active {
		out[k] = v
	}
	return out, nil
}

// ActiveVersion counts the changes of active (SetActive).
func (c *memCatalog) ActiveVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strconv.Itoa(c.version)
}

func (c *memCatalog) Manifest(site, id string) (*orchard.Manifest, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.manifests[id]
	if m == nil || m.Site != site {
		return nil, fmt.Errorf("release %s: %w", id, fs.ErrNotExist)
	}
	return m, nil
}

func (c *memCatalog) SetActive(site, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.active[site] = id
	c.version++
	c.moves = append(c.moves, [2]string{site, id})
	return nil
}

// ActiveSince returns the moves made since version.
func (c *memCatalog) ActiveSince(version string) (map[string]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, err := strconv.Atoi(version)
	base := c.version - len(c.moves) // the version before moves[0]
	if err != nil || v < base || v > c.version {
		return nil, false
	}
	out := map[string]string{}
	for _, m := range c.moves[v-base:] {
		out[m[0]] = m[1]
	}
	return out, true
}
