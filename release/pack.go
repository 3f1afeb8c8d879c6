package release

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Pack files hold the blobs written in bulk (the builder, publish batches):
// creating one file per blob is what costs most on many file systems, and
// one pack replaces thousands of them. Layout under blobs/packs:
//
//	NNNNNN.pack  "ORCHPK01", then records: sha256 (32) | size (uint64 LE) | data
//	NNNNNN.idx   "ORCHIX01" | count (uint64) | covered (uint64) |
//	             count x (sha256 | data offset (uint64) | size (uint64)), sorted by sha |
//	             sha256 of everything before it
//
// Records are appended without fsync. Sync fsyncs the pack, then replaces
// its idx (temporary file, fsync, rename, fsync of the directory): a blob
// is visible to a process opening the store only once an idx names it, and
// the idx names only records the pack held, whole, when it was fsynced.
// covered is the length of the pack the idx describes; whatever follows was
// never synced and is cut off when the store is next opened. A pack with no
// idx, or one whose checksum fails, is not trusted and is removed.
//
// A pack holds at most PackEntries blobs (and PackBytes bytes): every
// Sync rewrites the whole idx of the pack appended to, so the bound keeps
// that write the same size in a store of ten blobs or of half a million.
//
// A process appends only to a pack it holds an flock on: one it created,
// or the newest pack when no other process holds that one (short-lived
// processes, a build each, then share a pack instead of leaving one each).
// Another process opening the store leaves a locked pack's tail alone (it
// is being written), and GC never deletes it.
const (
	packMagic      = "ORCHPK01"
	idxMagic       = "ORCHIX01"
	packDirName    = "packs"
	recHeaderBytes = 32 + 8
	idxEntryBytes  = 32 + 8 + 8
	idxHeaderBytes = 8 + 8 + 8
	// DefaultPackBytes is the size past which appends roll to a new pack.
	DefaultPackBytes = 256 << 20
	// DefaultPackEntries is the number of blobs past which appends roll
	// to a new pack: an idx of at most 384 KiB, the most a Sync rewrites.
	// A store of 10,000 small sites (430,000 blobs) has about 50 packs.
	DefaultPackEntries = 8192
)

// packEntry locates one blob's data in a pack.
type packEntry struct {
	sha  [32]byte
	off  int64 // of the data, past the record header
	size int64
}

// pendingEntry is a record appended but not yet named by the idx.
type pendingEntry struct {
	packEntry
	at time.Time
}

// pack is one pack file, open for reading (and, for packs this process
// created, writing).
type pack struct {
	num   int
	path  string // .pack
	f     *os.File
	idxF  *os.File // the idx, opened lazily (see packfilters.go), or nil; closed with f
	write bool     // appended to by this process, which holds its flock
	rw    bool     // f is open for writing

	// Guarded by Blobs.mu.
	size     int64          // bytes written so far
	covered  int64          // bytes the idx describes
	entries  idxEntries     // named by the idx (set with setEntries); none while lazy
	filter   filter         // of entries (or of the idx, while lazy)
	lazy     *lazyIdx       // the idx, not read yet (see packfilters.go), or nil
	idxStamp fileStamp      // of the idx last read (or opened lazily)
	unsynced []pendingEntry // appended since the last Sync
	inflight int            // records being written
	idxSize  int64          // size and mtime of the idx last read (foreign packs)
	idxMod   time.Time

	lastUse atomic.Int64 // unix nanoseconds a blob of it was last asked for or written again

	refMu   sync.Mutex
	refs    int
	retired bool
}

// lookup finds the blob k among the entries p's idx names (sorted by
// sha: a binary search), after asking p's filter. The caller holds
// Blobs.mu (read).
func (p *pack) lookup(k [32]byte) (packEntry, bool) {
	if !p.filter.mayHold(k) {
		return packEntry{}, false
	}
	if p.lazy != nil {
		return p.lookupDisk(k)
	}
	return p.entries.find(k)
}

// setEntries makes entries what p's idx names, releasing those it named
// before. The caller holds Blobs.mu.
func (p *pack) setEntries(entries idxEntries) {
	if old := p.entries.mapped; old != nil && (entries.mapped == nil || &old[0] != &entries.mapped[0]) {
		p.entries.unmap()
	}
	p.entries = entries
	p.filter = newFilter(entries)
}

// filter is a blocked Bloom filter of the blob names of a pack: a blob
// sets 4 bits of one 64-bit word, the word and the bits taken from its
// name (a SHA-256: uniform already). A lookup in a store of many packs
// then reads one word of each pack and searches only the packs that may
// hold the blob (with about 16 bits a blob, one pack in a few hundred
// answers maybe wrongly), where a binary search of every pack made the
// warm-up of a node of 10,000 sites (50 packs) spend seconds comparing.
type filter []uint64

func newFilter(entries idxEntries) filter {
	n := entries.count()
	if n == 0 {
		return nil
	}
	f := make(filter, filterWords(n))
	for j := range n {
		i, bits := f.word([32]byte(entries.sha(j)))
		f[i] |= bits
	}
	return f
}

func (f filter) word(k [32]byte) (int, uint64) {
	i := int(binary.LittleEndian.Uint64(k[:8]) & uint64(len(f)-1))
	return i, 1<<(k[8]&63) | 1<<(k[9]&63) | 1<<(k[10]&63) | 1<<(k[11]&63)
}

// mayHold reports whether k may be among the names f was made of: false
// means it is not. An empty filter was made of no name.
func (f filter) mayHold(k [32]byte) bool {
	if len(f) == 0 {
		return false
	}
	i, bits := f.word(k)
	return f[i]&bits == bits
}

// acquire keeps p's file open until release; the caller holds Blobs.mu (read)
// and found p in the index, so p is not retired yet.
func (p *pack) acquire() {
	p.refMu.Lock()
	p.refs++
	p.refMu.Unlock()
}

func (p *pack) release() {
	p.refMu.Lock()
	defer p.refMu.Unlock()
	p.refs--
	if p.retired && p.refs == 0 {
		p.closeFiles()
	}
}

func (p *pack) closeFiles() {
	p.f.Close()
	if p.idxF != nil {
		p.idxF.Close()
	}
	p.lazy.unmap()
	p.entries.unmap()
}

// retire closes p's file once no reader holds it.
func (p *pack) retire() {
	p.refMu.Lock()
	defer p.refMu.Unlock()
	if p.retired {
		return
	}
	p.retired = true
	if p.refs == 0 {
		p.closeFiles()
	}
}

func (p *pack) idxPath() string { return strings.TrimSuffix(p.path, ".pack") + ".idx" }

func packName(num int) string { return fmt.Sprintf("%06d", num) }

// parsePackName returns the number of NNNNNN.pack or NNNNNN.idx.
func parsePackName(name string) (num int, ext string, ok bool) {
	base, ext, found := strings.Cut(name, ".")
	if !found || (ext != "pack" && ext != "idx") || len(base) < 6 {
		return 0, "", false
	}
	n, err := strconv.Atoi(base)
	if err != nil || n < 0 || packName(n) != base {
		return 0, "", false
	}
	return n, ext, true
}

// errBadIdx marks an idx that cannot be trusted.
var errBadIdx = errors.New("corrupt pack index")

// parseIdx checks and decodes an idx file (see checkIdx).
func parseIdx(data []byte) (covered int64, entries []packEntry, err error) {
	if covered, err = checkIdx(data); err != nil {
		return 0, nil, err
	}
	view := idxEntries{mapped: data}
	entries = make([]packEntry, view.count())
	for i := range entries {
		entries[i] = view.at(i)
	}
	return covered, entries, nil
}

// encodeIdx encodes entries (sorted by sha) of a pack whose first covered
// bytes they describe.
func encodeIdx(entries []packEntry, covered int64) []byte {
	var buf bytes.Buffer
	buf.Grow(idxHeaderBytes + len(entries)*idxEntryBytes + sha256.Size)
	_ = writeIdxTo(&buf, len(entries), covered, slices.Values(entries)) // a bytes.Buffer does not fail
	return buf.Bytes()
}

// writeIdxTo writes the idx of the n entries (sorted by sha) of a pack
// whose first covered bytes they describe, as it encodes them, so that
// rewriting the idx of a pack of 8,192 entries at each Sync holds none of
// it in the heap (a list of the entries and the encoded file made 0.75 MB
// of garbage per Sync into a full pack, at every publish to a node).
func writeIdxTo(w io.Writer, n int, covered int64, entries iter.Seq[packEntry]) error {
	h := sha256.New()
	mw := io.MultiWriter(w, h)
	var rec [idxHeaderBytes]byte
	copy(rec[:], idxMagic)
	binary.LittleEndian.PutUint64(rec[8:], uint64(n))
	binary.LittleEndian.PutUint64(rec[16:], uint64(covered))
	if _, err := mw.Write(rec[:]); err != nil {
		return err
	}
	var (
		e    [idxEntryBytes]byte
		err  error
		seen int
	)
	for en := range entries {
		copy(e[:32], en.sha[:])
		binary.LittleEndian.PutUint64(e[32:], uint64(en.off))
		binary.LittleEndian.PutUint64(e[40:], uint64(en.size))
		if _, err = mw.Write(e[:]); err != nil {
			return err
		}
		seen++
	}
	if seen != n {
		return fmt.Errorf("idx of %d entries given %d", n, seen)
	}
	_, err = w.Write(h.Sum(nil))
	return err
}

func sortEntries(es []packEntry) {
	slices.SortFunc(es, func(a, b packEntry) int { return bytes.Compare(a.sha[:], b.sha[:]) })
}

// writeIdx replaces the idx of p durably (temporary file, fsync, rename,
// fsync of the directory) by the idx encode writes (writeIdxTo), and
// returns the entries as the new file holds them: mapped, unless mapping
// failed. encode runs before the fsync, so that a lock it takes is not
// held across it.
func writeIdx(p *pack, encode func(io.Writer) error) (idxEntries, error) {
	dir := filepath.Dir(p.path)
	f, err := os.CreateTemp(dir, ".tmp-idx-*")
	if err != nil {
		return idxEntries{}, err
	}
	tmp := f.Name()
	bw := bufio.NewWriterSize(f, 16<<10)
	err = encode(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	var written idxEntries
	if err == nil {
		var fi os.FileInfo
		if fi, err = f.Stat(); err == nil {
			if m, merr := mapFile(f, fi.Size()); merr == nil {
				written = idxEntries{mapped: m}
			} else {
				_, written, err = readIdx(f)
			}
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p.idxPath())
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		written.unmap()
		return idxEntries{}, err
	}
	return written, nil
}

// tryLock takes an exclusive flock on f without waiting; false when another
// open file (another process, or another Blobs of this one) holds it.
func tryLock(f *os.File) bool { return flock(f, unix.LOCK_EX|unix.LOCK_NB) == nil }

func unlock(f *os.File) { _ = flock(f, unix.LOCK_UN) }

// flock applies how to f. It reaches the descriptor through SyscallConn,
// not Fd, which would switch f to blocking mode: two fcntl calls per lock
// and unlock, for each of 70 packs, at every CLI command.
func flock(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = unix.Flock(int(fd), how) }); err != nil {
		return err
	}
	return ferr
}

// createPack makes a new, empty, locked pack numbered num or above in dir.
// It is built under a temporary name and linked into place once locked and
// holding its header, so no process ever sees it unlocked and headerless.
func createPack(dir string, num int) (*pack, error) {
	f, err := os.CreateTemp(dir, ".tmp-pack-*")
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	fail := func(err error) (*pack, error) {
		f.Close()
		return nil, err
	}
	if !tryLock(f) {
		return fail(errors.New("cannot lock a new pack"))
	}
	if _, err := f.Write([]byte(packMagic)); err != nil {
		return fail(err)
	}
	for tries := 0; ; tries++ {
		path := filepath.Join(dir, packName(num)+".pack")
		err := os.Link(tmp, path)
		if err == nil {
			return &pack{num: num, path: path, f: f, write: true, rw: true, size: int64(len(packMagic)), covered: int64(len(packMagic))}, nil
		}
		if !errors.Is(err, os.ErrExist) || tries > 1000 {
			return fail(err)
		}
		num++
	}
}
