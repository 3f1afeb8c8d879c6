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

// activeCache is ActiveAll's last answer and the generation it read. A
// pointer this Store moves updates it in place of a new read (moved), so
// the master's own publishes do not make the next ActiveAll stat every
// pointer; it is read again at the latest activeCacheAge after the last
// read, in case another process moved a pointer in the instant between
// this one's look at the generation and its own change of it.
type activeCache struct {
	gen   genStamp
	read  time.Time // when the pointers were read
	sites map[string]string
	ptrs  map[string]pointer // the pointers read, for the next read (see pointers)
}

// activeCacheAge is how long ActiveAll trusts a cache kept up to date by
// moved without reading the pointers.
const activeCacheAge = time.Minute

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

// moved updates ActiveAll's cache after this Store moved site's pointer to
// id and changed the generation from before to after, when the cache was
// current before (a new cache: its readers hold the old one unlocked).
func (s *Store) moved(site, id string, before, after genStamp) {
	s.activeMu.Lock()
	defer s.activeMu.Unlock()
	c := s.active
	if c == nil || c.gen != before || before == (genStamp{}) || after == (genStamp{}) {
		return
	}
	n := &activeCache{gen: after, read: c.read, sites: maps.Clone(c.sites), ptrs: maps.Clone(c.ptrs)}
	n.sites[site] = id
	n.ptrs[site] = pointer{id: id} // no stamp: read again at the next full read
	s.active = n
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
	now := time.Now()
	if ok && c != nil && c.gen == gen && now.Sub(c.read) < activeCacheAge {
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
		s.active = &activeCache{gen: gen, read: now, sites: maps.Clone(out), ptrs: ptrs}
		s.activeMu.Unlock()
	}
	return out, nil
}
