package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/orchardhq/orchard"
)

// ErrHashMismatch is returned by PutVerified when the content does not hash
// to the name it was sent under, or is larger than allowed.
var ErrHashMismatch = errors.New("blob content does not match its sha256")

// ErrInvalidHash is returned for a blob name that is not 64 lower-case hex
// digits; such a name never reaches the file system.
var ErrInvalidHash = errors.New("invalid blob sha256")

// Blobs is a content-addressed blob store on disk. A blob lives either in a
// pack file (blobs/packs/NNNNNN.pack, see pack.go), where blobs written in
// bulk go (putNoSync, PutVerifiedNoSync), or in a loose file named by its
// SHA-256 (blobs/ab/abcdef...), where a blob written alone and durably goes
// (Put, PutVerified) and where stores written before packs keep theirs.
// Has, Get, Missing and GC consult both.
//
// A blob is visible under its name (Has, Missing) only when it is whole,
// verified and durable: a loose file is renamed into place after its fsync;
// a packed blob once Sync has fsynced its pack and written the pack's index.
// It is safe for concurrent use, and several processes may open the same
// store: each appends to packs of its own.
type Blobs struct {
	dir     string // .../blobs
	packDir string // .../blobs/packs
	log     *slog.Logger

	syncMu sync.Mutex   // serialises Sync and GC
	scanMu sync.Mutex   // serialises reading the packs directory
	gcMu   sync.RWMutex // held by GC while it removes loose blobs, read-held while known grows
	dirs   sync.Map     // shard directories known to exist
	bufs   sync.Pool    // *bytes.Buffer for PutVerifiedNoSync

	mu sync.RWMutex
	// index holds the blobs this process appended and has not synced
	// yet (and those GC moved); every other packed blob is found in the
	// sorted entries of its pack's idx (find). Opening a store holding
	// hundreds of thousands of blobs then builds no map of them all,
	// and neither does writing them.
	index    map[[32]byte]packLoc
	packs    map[int]*pack         // open packs by number
	order    []*pack               // packs, by number: the order find searches them in
	cur      *pack                 // pack appended to, nil until the first append
	nextNum  int                   // lowest number a new pack may take
	known    map[[32]byte]struct{} // loose blobs seen stored under their name (at most maxKnown)
	scanMod  time.Time             // mtime of the packs directory at the last scan
	recovery []string              // what Open repaired
	closed   bool
	// reuseTried is set once the first append has looked for a pack to
	// take over (see reuseLocked).
	reuseTried bool
	// cached is the filter cache read at Open, for the scan Open makes.
	cached map[int]cachedFilter

	// Grace protects young blobs from GC: a blob written less than Grace
	// ago is kept even when unreferenced, because a build or a stage may
	// be about to save the manifest that refers to it. Default 10 minutes.
	// A pack is judged as a whole: by its last write, and the last time
	// one of its blobs was written again or found by Missing.
	Grace time.Duration
	// PackBytes bounds a pack file: appends past it roll to a new pack.
	// Default DefaultPackBytes.
	PackBytes int64
	// PackEntries bounds the blobs of a pack: appends past it roll to a
	// new pack. Each Sync rewrites the idx of the pack appended to, so
	// this bounds what a Sync writes however many blobs the store holds.
	// Default DefaultPackEntries.
	PackEntries int
}

// packLoc is where a packed blob's data lies.
type packLoc struct {
	p      *pack
	off    int64
	size   int64
	synced bool // named by the pack's idx on disk
}

// OpenBlobs opens (creating if needed) the blob store under dir/blobs,
// logging what it repairs to slog.Default() (see OpenBlobsLogger).
func OpenBlobs(dir string) (*Blobs, error) {
	return OpenBlobsLogger(dir, nil)
}

// OpenBlobsLogger opens (creating if needed) the blob store under dir/blobs.
// It reads the index of every pack, cuts off what a crash left past the
// last Sync of each, and removes packs that cannot be trusted (no index, or
// a damaged one), logging each repair to log (nil: slog.Default()).
func OpenBlobsLogger(dir string, log *slog.Logger) (*Blobs, error) {
	if log == nil {
		log = slog.Default()
	}
	d := filepath.Join(dir, "blobs")
	pd := filepath.Join(d, packDirName)
	if err := os.MkdirAll(pd, 0o755); err != nil {
		return nil, fmt.Errorf("open blobs: %w", err)
	}
	b := &Blobs{
		dir: d, packDir: pd, log: log,
		index: map[[32]byte]packLoc{}, packs: map[int]*pack{}, known: map[[32]byte]struct{}{},
		Grace: 10 * time.Minute, PackBytes: DefaultPackBytes, PackEntries: DefaultPackEntries,
	}
	b.cached = b.readFilterCache()
	if err := b.scan(true); err != nil {
		b.Close()
		return nil, fmt.Errorf("open blobs: %w", err)
	}
	b.writeFilterCache(b.cached)
	b.cached = nil
	return b, nil
}

// Recovered lists what opening the store repaired (torn pack tails cut
// off, untrusted packs removed), for logs and tests.
func (b *Blobs) Recovered() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return slices.Clone(b.recovery)
}

// Close closes the pack files (blobs appended since the last Sync are
// lost, as after a crash). Readers still holding a blob keep it readable.
// Close is idempotent; the store must not be used after it.
func (b *Blobs) Close() error {
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	for _, p := range b.packs {
		p.retire()
	}
	b.packs = map[int]*pack{}
	b.order = nil
	b.index = map[[32]byte]packLoc{}
	b.cur = nil
	return nil
}

// Path returns the loose file that holds, or would hold, the blob sha. A
// blob written in bulk lives in a pack instead: read blobs with Get or
// Open. sha must be valid (orchard.ValidSHA256); Path does not check it.
func (b *Blobs) Path(sha string) string {
	return filepath.Join(b.dir, sha[:2], sha)
}

// maxKnown bounds the loose blobs remembered as stored (32 bytes and map
// overhead each, so about 50 MB); past it, lookups go to the disk.
const maxKnown = 1 << 20

// keyOf decodes a blob name (64 lower-case hex digits) into its key. Every
// staged manifest looks up each of its hashes, so this runs tens of
// thousands of times per publish: orchard.DecodeSHA256 decodes in place,
// without allocating or checking the digits twice.
func keyOf(sha string) ([32]byte, bool) { return orchard.DecodeSHA256(sha) }

// findLocked returns where the blob k lies in a pack: where this process
// put it (index), else in the first pack, by number, whose idx names it.
// A blob stored twice is always found in the same place, which GC takes
// as the one that counts. The caller holds b.mu (read).
func (b *Blobs) findLocked(k [32]byte) (packLoc, bool) {
	l, own := b.index[k]
	if own && l.synced {
		return l, true
	}
	// Not put by this process, or put and not synced yet: a pack synced
	// by another process may hold it durably.
	for _, p := range b.order {
		if !p.filter.mayHold(k) {
			continue
		}
		if lz := p.lazy; lz != nil && lz.lookups.Add(1) == lazyLoadAfter {
			go b.loadLazy(p) // needs b.mu, which the caller holds
		}
		if e, ok := p.lookup(k); ok {
			return packLoc{p: p, off: e.off, size: e.size, synced: true}, true
		}
	}
	return l, own
}

// setPackLocked adds p to the open packs; the caller holds b.mu.
func (b *Blobs) setPackLocked(p *pack) {
	b.packs[p.num] = p
	b.sortPacksLocked()
}

// dropPackLocked removes p from the open packs; the caller holds b.mu.
func (b *Blobs) dropPackLocked(p *pack) {
	delete(b.packs, p.num)
	b.sortPacksLocked()
}

func (b *Blobs) sortPacksLocked() {
	b.order = b.order[:0]
	for _, p := range b.packs {
		b.order = append(b.order, p)
	}
	slices.SortFunc(b.order, func(x, y *pack) int { return x.num - y.num })
}

// packed returns where the blob k lies in a pack, if it does and is synced
// (or, with unsynced, appended by this process).
func (b *Blobs) packed(k [32]byte, unsynced bool) (packLoc, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	l, ok := b.findLocked(k)
	return l, ok && (l.synced || unsynced)
}

// Has reports whether the blob sha is stored (durably).
func (b *Blobs) Has(sha string) bool {
	k, ok := keyOf(sha)
	if !ok {
		return false
	}
	if _, ok := b.packed(k, false); ok || b.isKnown(k) {
		return true
	}
	if _, err := os.Stat(b.Path(sha)); err == nil {
		return true
	}
	if b.refresh() {
		_, ok := b.packed(k, false)
		return ok
	}
	return false
}

func (b *Blobs) isKnown(k [32]byte) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	_, known := b.known[k]
	return known
}

// remember notes loose blobs seen stored under their names; the caller
// read-holds gcMu since it saw them.
func (b *Blobs) remember(shas ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, sha := range shas {
		if len(b.known) >= maxKnown {
			return
		}
		if k, ok := keyOf(sha); ok {
			b.known[k] = struct{}{}
		}
	}
}

func (b *Blobs) forget(sha string) {
	if k, ok := keyOf(sha); ok {
		b.mu.Lock()
		delete(b.known, k)
		b.mu.Unlock()
	}
}

// BlobReader reads one stored blob: Read, ReadAt, Seek and Size, then
// Close.
type BlobReader struct {
	*io.SectionReader
	once  sync.Once
	close func() error
}

// Close releases the blob's file. It is idempotent.
func (r *BlobReader) Close() error {
	var err error
	r.once.Do(func() { err = r.close() })
	return err
}

// Open opens the blob sha for reading (an error wrapping fs.ErrNotExist when
// it is missing). The caller must Close it. A blob appended by this process
// but not yet synced can be read too.
func (b *Blobs) Open(sha string) (*BlobReader, error) {
	k, ok := keyOf(sha)
	if !ok {
		return nil, ErrInvalidHash
	}
	for try := 0; ; try++ {
		if l, ok := b.acquire(k); ok {
			return &BlobReader{SectionReader: io.NewSectionReader(l.p.f, l.off, l.size), close: func() error { l.p.release(); return nil }}, nil
		}
		f, err := os.Open(b.Path(sha))
		if err == nil {
			st, err := f.Stat()
			if err != nil {
				f.Close()
				return nil, err
			}
			return &BlobReader{SectionReader: io.NewSectionReader(f, 0, st.Size()), close: f.Close}, nil
		}
		if !errors.Is(err, fs.ErrNotExist) || try > 0 || !b.refresh() {
			return nil, err
		}
	}
}

// Size returns the size of the blob sha as stored (an error wrapping
// fs.ErrNotExist when it is missing), as Open would read it, without
// opening it: one index lookup for a packed blob, one stat for a loose
// one. A node checks the size of every blob of every release it loads.
func (b *Blobs) Size(sha string) (int64, error) {
	k, ok := keyOf(sha)
	if !ok {
		return 0, ErrInvalidHash
	}
	for try := 0; ; try++ {
		if l, ok := b.packed(k, true); ok {
			return l.size, nil
		}
		st, err := os.Stat(b.Path(sha))
		if err == nil {
			return st.Size(), nil
		}
		if !errors.Is(err, fs.ErrNotExist) || try > 0 || !b.refresh() {
			return 0, err
		}
	}
}

// acquire finds the packed blob k and keeps its pack open until released.
func (b *Blobs) acquire(k [32]byte) (packLoc, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	l, ok := b.findLocked(k)
	if ok {
		l.p.acquire()
	}
	return l, ok
}

// Get returns the content of the blob sha. A blob appended by this process
// but not yet synced can be read too.
func (b *Blobs) Get(sha string) ([]byte, error) {
	k, ok := keyOf(sha)
	if !ok {
		return nil, ErrInvalidHash
	}
	for try := 0; ; try++ {
		if l, ok := b.acquire(k); ok {
			data := make([]byte, l.size)
			_, err := l.p.f.ReadAt(data, l.off)
			l.p.release()
			if err != nil {
				return nil, fmt.Errorf("read blob %s: %w", sha, err)
			}
			return data, nil
		}
		data, err := os.ReadFile(b.Path(sha))
		if err == nil || !errors.Is(err, fs.ErrNotExist) || try > 0 || !b.refresh() {
			return data, err
		}
	}
}

// Put stores data durably as a loose file (temporary file, fsync, rename)
// and returns its SHA-256. A blob that already exists is not written again.
func (b *Blobs) Put(ctx context.Context, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if b.Has(sha) {
		return sha, nil
	}
	return sha, b.writeLoose(sha, bytes.NewReader(data))
}

// putNoSync appends data to the current pack without fsync; the builder
// calls Sync once after a batch. The blob is visible (Has, Missing) only
// after Sync.
func (b *Blobs) putNoSync(data []byte) (string, error) {
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	return sha, b.appendBlob(sum, data)
}

// PutVerified stores at most maxBytes read from r as the blob sha, after
// checking that the content hashes to sha. On a mismatch (or more than
// maxBytes) it keeps nothing and returns an error wrapping ErrHashMismatch.
// The blob is a loose file, fsynced before PutVerified returns.
func (b *Blobs) PutVerified(sha string, r io.Reader, maxBytes int64) error {
	if !orchard.ValidSHA256(sha) {
		return ErrInvalidHash
	}
	if b.Has(sha) {
		_, err := io.Copy(io.Discard, io.LimitReader(r, maxBytes+1))
		return err
	}
	return b.writeLoose(sha, io.LimitReader(r, maxBytes+1), maxBytes)
}

// PutVerifiedNoSync is PutVerified without any fsync: the verified blob is
// appended to the current pack and becomes visible (Has, Missing) only when
// a later Sync has made it durable. Publishing many blobs this way and
// calling Sync once before activation costs one fsync of the pack and one
// index write, with the same guarantee: a blob visible under its name is
// whole and verified. A blob stored or appended already is not read again.
func (b *Blobs) PutVerifiedNoSync(sha string, r io.Reader, maxBytes int64) error {
	k, ok := keyOf(sha)
	if !ok {
		return ErrInvalidHash
	}
	if l, ok := b.packed(k, true); ok {
		l.p.lastUse.Store(time.Now().UnixNano())
		return nil
	}
	buf, _ := b.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			b.bufs.Put(buf)
		}
	}()
	buf.Reset()
	n, err := buf.ReadFrom(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return fmt.Errorf("put blob %s: %w", sha, err)
	}
	if n > maxBytes {
		return fmt.Errorf("put blob %s: larger than %d bytes: %w", sha, maxBytes, ErrHashMismatch)
	}
	if sha256.Sum256(buf.Bytes()) != k {
		return fmt.Errorf("put blob %s: %w", sha, ErrHashMismatch)
	}
	return b.appendBlob(k, buf.Bytes())
}

// writeLoose copies r into a temporary file beside the blob, checks its
// hash (and size, when maxBytes is given), fsyncs it and renames it into
// place.
func (b *Blobs) writeLoose(sha string, r io.Reader, maxBytes ...int64) error {
	final := b.Path(sha)
	if _, err := os.Stat(final); err == nil {
		return nil
	}
	dir := filepath.Dir(final)
	if _, made := b.dirs.Load(dir); !made {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("put blob: %w", err)
		}
		b.dirs.Store(dir, true)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if errors.Is(err, fs.ErrNotExist) { // removed behind our back
		if err = os.MkdirAll(dir, 0o755); err == nil {
			f, err = os.CreateTemp(dir, ".tmp-*")
		}
	}
	if err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err != nil {
		return fmt.Errorf("put blob %s: %w", sha, err)
	}
	if len(maxBytes) > 0 && n > maxBytes[0] {
		return fmt.Errorf("put blob %s: larger than %d bytes: %w", sha, maxBytes[0], ErrHashMismatch)
	}
	if hex.EncodeToString(h.Sum(nil)) != sha {
		return fmt.Errorf("put blob %s: %w", sha, ErrHashMismatch)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("put blob %s: %w", sha, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("put blob %s: %w", sha, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("put blob %s: %w", sha, err)
	}
	ok = true
	b.gcMu.RLock()
	b.remember(sha)
	b.gcMu.RUnlock()
	return syncDir(dir)
}

// Missing returns the blobs m refers to (content and gzip variants) that are
// not stored, sorted and without duplicates. A blob appended but not yet
// synced counts as missing.
func (b *Blobs) Missing(m *orchard.Manifest) []string {
	return b.MissingOf(m.BlobHashes())
}

// listThreshold is the number of blobs from which MissingOf lists the shard
// directories of loose blobs instead of looking each blob up.
const listThreshold = 2048

// MissingOf returns those of shas that are not stored, sorted and without
// duplicates; an invalid name counts as missing. Packed blobs are looked up
// in memory; for many others it reads the loose shard directories (256
// listings) rather than making one stat(2) per blob.
func (b *Blobs) MissingOf(shas []string) []string {
	b.gcMu.RLock()
	defer b.gcMu.RUnlock()
	var out []string
	unknown := b.unpacked(shas, &out)
	if len(unknown) > 0 && b.refresh() {
		unknown = b.unpacked(unknown, nil)
	}
	shas = unknown
	defer func() { // what was looked up and found is known from now on
		found := make([]string, 0, len(shas))
		miss := make(map[string]bool, len(out))
		for _, h := range out {
			miss[h] = true
		}
		for _, h := range shas {
			if !miss[h] {
				found = append(found, h)
			}
		}
		b.remember(found...)
	}()
	if len(shas) < listThreshold {
		seen := make(map[string]bool, len(shas))
		for _, h := range shas {
			if !seen[h] {
				seen[h] = true
				if _, err := os.Stat(b.Path(h)); err != nil {
					out = append(out, h)
				}
			}
		}
		sort.Strings(out)
		return slices.Compact(out)
	}
	byShard := map[string][]string{}
	for _, h := range shas {
		byShard[h[:2]] = append(byShard[h[:2]], h)
	}
	for shard, want := range byShard {
		present := map[string]bool{}
		if f, err := os.Open(filepath.Join(b.dir, shard)); err == nil {
			names, _ := f.Readdirnames(-1)
			f.Close()
			for _, n := range names {
				present[n] = true
			}
		}
		for _, h := range want {
			if !present[h] {
				present[h] = true // once
				out = append(out, h)
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// unpacked returns those of shas neither packed (synced) nor remembered as
// loose; invalid names go to *invalid when it is not nil. The packs of the
// blobs found are marked used now, so GC spares them for Grace.
func (b *Blobs) unpacked(shas []string, invalid *[]string) []string {
	var unknown []string
	now := time.Now().UnixNano()
	var last *pack
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, h := range shas {
		k, ok := keyOf(h)
		if !ok {
			if invalid != nil {
				*invalid = append(*invalid, h)
			}
			continue
		}
		if l, ok := b.findLocked(k); ok && l.synced {
			if l.p != last {
				l.p.lastUse.Store(now)
				last = l.p
			}
			continue
		}
		if _, ok := b.known[k]; ok {
			continue
		}
		unknown = append(unknown, h)
	}
	return unknown
}
