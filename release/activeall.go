package release

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Every node asks the master for every site's active release every few
// seconds (catch-up), and the master's metrics list them too: with
// thousands of sites, reading one pointer file per site each time kept an
// idle master busy. Each pointer change also rewrites one store-wide file,
// activeGenFile; ActiveAll reads the pointers again only when that file
// has changed since its last read, whichever process moved a pointer (the
// CLI's publish, say, while the master runs).

const activeGenFile = "active-gen"

// activeCache is ActiveAll's last answer and the generation it read.
type activeCache struct {
	gen   genStamp
	sites map[string]string
	ptrs  map[string]pointer // the pointers read, for the next read (see pointers)
}

// genStamp identifies one write of activeGenFile: each is a new file
// (written beside it and renamed over it).
type genStamp struct {
	ino   uint64
	mtime time.Time
	size  int64
}

func (s *Store) activeGen() (genStamp, bool) {
	fi, err := os.Stat(filepath.Join(s.dir, activeGenFile))
	if err != nil {
		return genStamp{}, false
	}
	return genStamp{ino: fileIno(fi), mtime: fi.ModTime(), size: fi.Size()}, true
}

// ActiveVersion returns a token that changes whenever an active pointer
// moves, whichever process moved it; "" until the store has its
// generation file (ActiveAll writes one).
func (s *Store) ActiveVersion() string {
	g, ok := s.activeGen()
	if !ok {
		return ""
	}
	return strconv.FormatUint(g.ino, 36) + "-" + strconv.FormatInt(g.mtime.UnixNano(), 36) + "-" + strconv.FormatInt(g.size, 36)
}

// bumpActiveGen records that an active pointer moved; under s.mu.
func (s *Store) bumpActiveGen() error {
	v := strconv.FormatInt(time.Now().UnixNano(), 10) + " " + strconv.Itoa(os.Getpid()) + "\n"
	return writeFileAtomic(filepath.Join(s.dir, activeGenFile), []byte(v))
}

// ActiveAll returns the active release of every site that has one. The
// map is the caller's.
func (s *Store) ActiveAll() (map[string]string, error) {
	gen, ok := s.activeGen()
	if !ok {
		// A store written before the generation file: start one, so the
		// next call can use what this one reads.
		s.mu.Lock()
		err := s.bumpActiveGen()
		s.mu.Unlock()
		if err != nil && !errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("active releases: %w", err)
		}
		gen, ok = s.activeGen()
	}
	s.activeMu.Lock()
	c := s.active
	s.activeMu.Unlock()
	if ok && c != nil && c.gen == gen {
		return maps.Clone(c.sites), nil
	}
	// A stat per pointer, reading only those that moved since the last
	// read (or since the active index was written: activeindex.go).
	var known map[string]pointer
	if c != nil {
		known = c.ptrs
	} else {
		known = s.readActiveIndex()
	}
	ptrs, err := s.pointers(known)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ptrs))
	for site, p := range ptrs {
		if p.id != "" {
			out[site] = p.id
		}
	}
	if ok {
		// Stamped with the generation seen before reading: a pointer that
		// moved meanwhile changed the file, so the next call reads again.
		s.activeMu.Lock()
		s.active = &activeCache{gen: gen, sites: maps.Clone(out), ptrs: ptrs}
		s.activeMu.Unlock()
	}
	return out, nil
}
