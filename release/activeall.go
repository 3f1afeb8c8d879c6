package release

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orchardhq/orchard"
)

// Every node asks the master for every site's active release every few
// seconds (catch-up), and the master's metrics list them too: with
// thousands of sites, reading one pointer file per site each time kept an
// idle master busy. Each pointer change also rewrites one store-wide file,
// activeGenFile; ActiveAll reads the pointers again only when that file
// has changed since its last read, whichever process moved a pointer (the
// CLI's publish, say, while the master runs).

const activeGenFile = "active-gen"

// The generation file also keeps a log of the last maxGenMoves pointer
// moves, each with a sequence number, under a random epoch (a new one
// whenever the file cannot be read as a log). A store whose cache reflects
// move N of the same epoch applies the moves after N from the log, where
// it read every pointer again: at 10,000 sites, each publish by the CLI
// made the running master stat 10,000 pointers (0.5 s of CPU) at its next
// catch-up answer or scrape. Writers take activeGenLock (flock) to add
// their move, so that no two write the same sequence number.
const (
	activeGenLock  = "active-gen.lock"
	activeGenMagic = "orchard active gen 2"
	maxGenMoves    = 256
)

// genLog is the content of the generation file: the last moves, oldest
// first, the last of them numbered seq (0: none yet in this epoch).
type genLog struct {
	epoch string
	seq   uint64
	moves []genMove
}

// genMove is one pointer move: site's active release became id.
type genMove struct {
	seq      uint64
	site, id string
}

func (g genLog) encode() []byte {
	b := fmt.Appendf(nil, "%s %s %d\n", activeGenMagic, g.epoch, g.seq)
	for _, m := range g.moves {
		b = fmt.Appendf(b, "%d %s %s\n", m.seq, m.site, m.id)
	}
	return b
}

// parseGenLog reads a generation file; false when it is not a log (an
// older format, torn, or damaged).
func parseGenLog(data []byte) (genLog, bool) {
	lines := strings.Split(string(data), "\n")
	if len(lines) < 2 || lines[len(lines)-1] != "" {
		return genLog{}, false
	}
	head := strings.Fields(lines[0])
	magic := strings.Fields(activeGenMagic)
	if len(head) != len(magic)+2 || strings.Join(head[:len(magic)], " ") != activeGenMagic || head[len(magic)] == "" {
		return genLog{}, false
	}
	g := genLog{epoch: head[len(magic)]}
	var err error
	if g.seq, err = strconv.ParseUint(head[len(magic)+1], 10, 64); err != nil {
		return genLog{}, false
	}
	body := lines[1 : len(lines)-1]
	if len(body) > maxGenMoves || uint64(len(body)) > g.seq {
		return genLog{}, false
	}
	for i, line := range body {
		f := strings.Fields(line)
		if len(f) != 3 {
			return genLog{}, false
		}
		seq, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil || seq != g.seq-uint64(len(body)-1-i) || checkSite(f[1]) != nil || !orchard.ValidReleaseID(f[2]) {
			return genLog{}, false
		}
		g.moves = append(g.moves, genMove{seq: seq, site: f[1], id: f[2]})
	}
	return g, true
}

// since returns the moves of g after seq of epoch, and false when g does
// not hold them all (another epoch, or moves already dropped).
func (g genLog) since(epoch string, seq uint64) ([]genMove, bool) {
	if g.epoch != epoch || g.seq < seq {
		return nil, false
	}
	if g.seq == seq {
		return nil, true
	}
	if len(g.moves) == 0 || g.moves[0].seq > seq+1 {
		return nil, false
	}
	return g.moves[len(g.moves)-int(g.seq-seq):], true
}

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
	// The last move of the generation log the cache reflects, when the
	// log could be read (logged).
	epoch  string
	seq    uint64
	logged bool
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
	return genStampOf(fi), true
}

func genStampOf(fi fs.FileInfo) genStamp {
	return genStamp{ino: fileIno(fi), mtime: fi.ModTime(), size: fi.Size()}
}

// readGenLog reads the generation file: the stamp of the file read, and
// its log (logged false when it is not one).
func (s *Store) readGenLog() (gen genStamp, g genLog, ok, logged bool) {
	f, err := os.Open(filepath.Join(s.dir, activeGenFile))
	if err != nil {
		return genStamp{}, genLog{}, false, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return genStamp{}, genLog{}, false, false
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return genStamp{}, genLog{}, false, false
	}
	g, logged = parseGenLog(data)
	return genStampOf(fi), g, true, logged
}

// ActiveVersion returns a token that changes whenever an active pointer
// moves, whichever process moved it; "" until the store has its
// generation file (ActiveAll writes one).
func (s *Store) ActiveVersion() string {
	gen, g, ok, logged := s.readGenLog()
	switch {
	case !ok:
		return ""
	case logged:
		return g.epoch + "." + strconv.FormatUint(g.seq, 10)
	}
	return strconv.FormatUint(gen.ino, 36) + "-" + strconv.FormatInt(gen.mtime.UnixNano(), 36) + "-" + strconv.FormatInt(gen.size, 36)
}

// ActiveSince returns the active release of every site whose pointer moved
// since version (an ActiveVersion answer), from the generation log; false
// when the log does not reach back to it (another epoch, moves dropped,
// a version of no log).
func (s *Store) ActiveSince(version string) (map[string]string, bool) {
	epoch, n, ok := strings.Cut(version, ".")
	seq, err := strconv.ParseUint(n, 10, 64)
	if !ok || err != nil {
		return nil, false
	}
	_, g, ok, logged := s.readGenLog()
	if !ok || !logged {
		return nil, false
	}
	moves, all := g.since(epoch, seq)
	if !all {
		return nil, false
	}
	out := make(map[string]string, len(moves))
	for _, m := range moves {
		out[m.site] = m.id
	}
	return out, true
}

// moved updates ActiveAll's cache after this Store moved site's pointer to
// id, making move g.seq of the log, when the cache reflected the move just
// before (a new cache: its readers hold the old one unlocked). The cache
// keeps no stamp of the generation file: another process may have
// replaced it already, so the next ActiveAll reads the log again.
func (s *Store) moved(site, id string, g genLog) {
	s.activeMu.Lock()
	defer s.activeMu.Unlock()
	c := s.active
	if c == nil || !c.logged || c.epoch != g.epoch || c.seq+1 != g.seq {
		return
	}
	n := &activeCache{read: c.read, sites: maps.Clone(c.sites), ptrs: maps.Clone(c.ptrs), epoch: g.epoch, seq: g.seq, logged: true}
	n.sites[site] = id
	n.ptrs[site] = pointer{id: id} // no stamp: read again at the next full read
	s.active = n
}

// bumpActiveGen records that site's active pointer moved to id (site "":
// only that a generation file exists), under s.mu and activeGenLock, and
// returns the log it wrote.
func (s *Store) bumpActiveGen(site, id string) (genLog, error) {
	lock, err := os.OpenFile(filepath.Join(s.dir, activeGenLock), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return genLog{}, err
	}
	defer lock.Close()
	if err := flock(lock, unix.LOCK_EX); err != nil {
		return genLog{}, err
	}
	data, err := os.ReadFile(filepath.Join(s.dir, activeGenFile))
	g, ok := parseGenLog(data)
	if err != nil || !ok {
		g = genLog{epoch: newGenEpoch()}
	}
	if site != "" {
		g.seq++
		g.moves = append(g.moves, genMove{seq: g.seq, site: site, id: id})
		if len(g.moves) > maxGenMoves {
			g.moves = g.moves[len(g.moves)-maxGenMoves:]
		}
	}
	return g, writeFileAtomic(filepath.Join(s.dir, activeGenFile), g.encode())
}

// newGenEpoch returns a random epoch for a new generation log.
func newGenEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ActiveAll returns the active release of every site that has one. The
// map is the caller's.
func (s *Store) ActiveAll() (map[string]string, error) {
	gen, ok := s.activeGen()
	if !ok {
		// A store written before the generation file: start one, so the
		// next call can use what this one reads.
		s.mu.Lock()
		_, err := s.bumpActiveGen("", "")
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
	fresh := c != nil && now.Sub(c.read) < activeCacheAge
	if ok && fresh && c.gen == gen {
		return maps.Clone(c.sites), nil
	}
	// Read the log before any pointer: a move made meanwhile changes the
	// file again, so the next call looks again.
	gen, g, ok, logged := s.readGenLog()
	if ok && fresh && logged && c.logged {
		if moves, all := g.since(c.epoch, c.seq); all {
			n := &activeCache{gen: gen, read: c.read, sites: maps.Clone(c.sites), ptrs: maps.Clone(c.ptrs), epoch: g.epoch, seq: g.seq, logged: true}
			for _, m := range moves {
				n.sites[m.site] = m.id
				n.ptrs[m.site] = pointer{id: m.id} // no stamp: read again at the next full read
			}
			s.activeMu.Lock()
			s.active = n
			s.activeMu.Unlock()
			return maps.Clone(n.sites), nil
		}
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
		// Stamped with the generation read before the pointers.
		s.activeMu.Lock()
		s.active = &activeCache{gen: gen, read: now, sites: maps.Clone(out), ptrs: ptrs, epoch: g.epoch, seq: g.seq, logged: logged}
		s.activeMu.Unlock()
	}
	return out, nil
}
