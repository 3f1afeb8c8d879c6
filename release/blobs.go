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
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orchardhq/orchard"
)

// ErrHashMismatch is returned by PutVerified when the content does not hash
// to the name it was sent under, or is larger than allowed.
var ErrHashMismatch = errors.New("blob content does not match its sha256")

// ErrInvalidHash is returned for a blob name that is not 64 lower-case hex
// digits; such a name never reaches the file system.
var ErrInvalidHash = errors.New("invalid blob sha256")

// Blobs is a content-addressed blob store on disk: the blob whose SHA-256 is
// abcdef... lives at dir/blobs/ab/abcdef.... A blob is written once, to a
// temporary file that is renamed into place, so a reader never sees a
// partial blob. A blob written without fsync (PutVerifiedNoSync, the
// builder) keeps its temporary name until Sync has made its content
// durable, so a blob under its final name is always whole, even after a
// crash. It is safe for concurrent use.
type Blobs struct {
	dir string // .../blobs

	mu      sync.Mutex
	pending map[string]string     // sha -> temporary file, written but not yet synced
	syncMu  sync.Mutex            // serialises Sync
	dirs    sync.Map              // shard directories known to exist
	known   map[[32]byte]struct{} // blobs seen stored under their name (guarded by mu, at most maxKnown)
	gcMu    sync.RWMutex          // held by GC while it removes blobs, read-held while known grows
	// Grace protects young blobs from GC: a blob written less than Grace
	// ago is kept even when unreferenced, because a build or a stage may
	// be about to save the manifest that refers to it. Default 10 minutes.
	Grace time.Duration
}

// OpenBlobs opens (creating if needed) the blob store under dir/blobs.
func OpenBlobs(dir string) (*Blobs, error) {
	d := filepath.Join(dir, "blobs")
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, fmt.Errorf("open blobs: %w", err)
	}
	return &Blobs{dir: d, Grace: 10 * time.Minute, pending: map[string]string{}, known: map[[32]byte]struct{}{}}, nil
}

// Path returns the file that holds the blob sha. sha must be valid
// (orchard.ValidSHA256); Path does not check it.
func (b *Blobs) Path(sha string) string {
	return filepath.Join(b.dir, sha[:2], sha)
}

// Has reports whether the blob sha is stored.
func (b *Blobs) Has(sha string) bool {
	if !orchard.ValidSHA256(sha) {
		return false
	}
	if b.isKnown(sha) {
		return true
	}
	_, err := os.Stat(b.Path(sha))
	return err == nil
}

// maxKnown bounds the blobs remembered as stored (32 bytes and map overhead
// each, so about 50 MB); past it, lookups go to the disk.
const maxKnown = 1 << 20

func keyOf(sha string) (k [32]byte, ok bool) {
	_, err := hex.Decode(k[:], []byte(sha))
	return k, err == nil && len(sha) == 64
}

func (b *Blobs) isKnown(sha string) bool {
	k, ok := keyOf(sha)
	if !ok {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	_, known := b.known[k]
	return known
}

// remember notes blobs seen stored under their names; the caller read-holds
// gcMu since it saw them.
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

// Open opens the blob sha for reading (an error wrapping fs.ErrNotExist when
// it is missing).
func (b *Blobs) Open(sha string) (*os.File, error) {
	if !orchard.ValidSHA256(sha) {
		return nil, ErrInvalidHash
	}
	return os.Open(b.Path(sha))
}

// Get returns the content of the blob sha.
func (b *Blobs) Get(sha string) ([]byte, error) {
	if !orchard.ValidSHA256(sha) {
		return nil, ErrInvalidHash
	}
	return os.ReadFile(b.Path(sha))
}

// Put stores data durably (temporary file, fsync, rename) and returns its
// SHA-256. A blob that already exists is not written again.
func (b *Blobs) Put(ctx context.Context, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	return sha, b.write(sha, bytes.NewReader(data), true)
}

// putNoSync is Put without the fsync; the builder calls Sync once after a
// batch instead of paying an fsync per blob. The blob is readable only after
// Sync.
func (b *Blobs) putNoSync(data []byte) (string, error) {
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	return sha, b.write(sha, bytes.NewReader(data), false)
}

// PutVerified stores at most maxBytes read from r as the blob sha, after
// checking that the content hashes to sha. On a mismatch (or more than
// maxBytes) it keeps nothing and returns an error wrapping ErrHashMismatch.
// The blob is fsynced before PutVerified returns.
func (b *Blobs) PutVerified(sha string, r io.Reader, maxBytes int64) error {
	if !orchard.ValidSHA256(sha) {
		return ErrInvalidHash
	}
	if b.Has(sha) {
		_, err := io.Copy(io.Discard, io.LimitReader(r, maxBytes+1))
		return err
	}
	return b.write(sha, io.LimitReader(r, maxBytes+1), true, maxBytes)
}

// PutVerifiedNoSync is PutVerified without any fsync: the verified blob is
// kept under a temporary name and becomes visible (Has, Get, Missing) only
// when a later Sync has made it durable. Publishing many blobs this way and
// calling Sync once before activation costs one syncfs(2) instead of two
// fsyncs per blob, with the same guarantee: a blob that exists under its
// name is whole and verified.
func (b *Blobs) PutVerifiedNoSync(sha string, r io.Reader, maxBytes int64) error {
	if !orchard.ValidSHA256(sha) {
		return ErrInvalidHash
	}
	// write keeps nothing (and reads nothing) when the blob is stored or
	// pending already.
	return b.write(sha, io.LimitReader(r, maxBytes+1), false, maxBytes)
}

// stillPending reports whether sha is pending with its temporary file in
// place, forgetting it when GC removed that file (an abandoned stage).
func (b *Blobs) stillPending(sha string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	tmp, ok := b.pending[sha]
	if !ok {
		return false
	}
	if _, err := os.Stat(tmp); err != nil {
		delete(b.pending, sha)
		return false
	}
	return true
}

// stagingDir holds, under the blobs directory, the temporary files of blobs
// written without fsync until Sync places them.
const stagingDir = "staging"

// write copies r into a temporary file beside the blob, checks its hash
// when verify limits are given, and renames it into place.
func (b *Blobs) write(sha string, r io.Reader, sync bool, maxBytes ...int64) error {
	final := b.Path(sha)
	if _, err := os.Stat(final); err == nil {
		return nil
	}
	if !sync && b.stillPending(sha) {
		return nil
	}
	dir := filepath.Dir(final)
	if _, made := b.dirs.Load(dir); !made {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("put blob: %w", err)
		}
		b.dirs.Store(dir, true)
	}
	// A blob placed by Sync waits in one staging directory: creating many
	// files in one directory keeps their inodes together, where creating
	// them across the 256 shards scatters the file system's metadata.
	tmpDir := dir
	if !sync {
		tmpDir = filepath.Join(b.dir, stagingDir)
		if _, made := b.dirs.Load(tmpDir); !made {
			if err := os.MkdirAll(tmpDir, 0o755); err != nil {
				return fmt.Errorf("put blob: %w", err)
			}
			b.dirs.Store(tmpDir, true)
		}
	}
	f, err := os.CreateTemp(tmpDir, ".tmp-*")
	if errors.Is(err, fs.ErrNotExist) { // removed behind our back
		if err = os.MkdirAll(tmpDir, 0o755); err == nil {
			f, err = os.CreateTemp(tmpDir, ".tmp-*")
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
	if sync {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("put blob %s: %w", sha, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("put blob %s: %w", sha, err)
	}
	if !sync {
		// Renamed into place by Sync, once the content is durable.
		b.mu.Lock()
		_, dup := b.pending[sha] // the same blob written twice at once
		if !dup {
			b.pending[sha] = tmp
		}
		b.mu.Unlock()
		if dup {
			os.Remove(tmp)
		}
		ok = true
		return nil
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("put blob %s: %w", sha, err)
	}
	ok = true
	b.gcMu.RLock()
	b.remember(sha)
	b.gcMu.RUnlock()
	if sync {
		return syncDir(dir)
	}
	return nil
}

// Sync makes every blob written so far durable and visible. Many blobs
// written without fsync are flushed together by one syncfs(2) of the file
// system that holds the store, then renamed to their names, and a second
// syncfs makes the renames durable; a few are fsynced one by one (which
// does not wait for the rest of the file system). When Sync returns nil,
// every blob put before it was called is stored under its name.
func (b *Blobs) Sync() error {
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	b.gcMu.RLock()
	defer b.gcMu.RUnlock()
	b.mu.Lock()
	batch := b.pending
	b.pending = map[string]string{}
	b.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if len(batch) <= fewBlobs {
		return b.syncFew(batch)
	}
	if err := b.syncfs(); err != nil {
		b.restore(batch)
		return err
	}
	placed := make([]string, 0, len(batch))
	for sha, tmp := range batch {
		err := os.Rename(tmp, b.Path(sha))
		if errors.Is(err, fs.ErrNotExist) {
			// Removed by GC after a stage that was never activated: the
			// blob is simply not stored (activation checks).
			delete(batch, sha)
			continue
		}
		if err != nil {
			os.Remove(tmp)
			// The others stay pending: a later Sync may still place them.
			delete(batch, sha)
			b.restore(batch)
			return fmt.Errorf("sync blobs: %w", err)
		}
		delete(batch, sha)
		placed = append(placed, sha)
	}
	if err := b.syncfs(); err != nil {
		return err
	}
	b.remember(placed...)
	return nil
}

// fewBlobs is the most pending blobs Sync fsyncs one by one.
const fewBlobs = 32

// syncFew fsyncs each pending blob, renames it into place and fsyncs the
// directories.
func (b *Blobs) syncFew(batch map[string]string) error {
	dirs := map[string]bool{}
	placed := make([]string, 0, len(batch))
	for sha, tmp := range batch {
		err := fsyncFile(tmp)
		if err == nil {
			err = os.Rename(tmp, b.Path(sha))
		}
		if errors.Is(err, fs.ErrNotExist) { // removed by GC meanwhile (see Sync)
			delete(batch, sha)
			continue
		}
		if err != nil {
			os.Remove(tmp)
			delete(batch, sha)
			b.restore(batch)
			return fmt.Errorf("sync blobs: %w", err)
		}
		delete(batch, sha)
		placed = append(placed, sha)
		dirs[filepath.Dir(b.Path(sha))] = true
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return fmt.Errorf("sync blobs: %w", err)
		}
	}
	b.remember(placed...)
	return nil
}

func fsyncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// restore puts back pending blobs a failed Sync did not place.
func (b *Blobs) restore(batch map[string]string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for sha, tmp := range batch {
		if _, ok := b.pending[sha]; !ok {
			b.pending[sha] = tmp
		} else {
			os.Remove(tmp)
		}
	}
}

// syncfs flushes the file system that holds the store.
func (b *Blobs) syncfs() error {
	f, err := os.Open(b.dir)
	if err != nil {
		return fmt.Errorf("sync blobs: %w", err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("sync blobs: %w", err)
	}
	return nil
}

// Missing returns the blobs m refers to (content and gzip variants) that are
// not stored, sorted and without duplicates.
func (b *Blobs) Missing(m *orchard.Manifest) []string {
	set := make(map[string]struct{}, len(m.Files)*2)
	for _, e := range m.Files {
		set[e.SHA256] = struct{}{}
		if e.Gzip != "" {
			set[e.Gzip] = struct{}{}
		}
	}
	shas := make([]string, 0, len(set))
	for h := range set {
		shas = append(shas, h)
	}
	return b.MissingOf(shas)
}

// listThreshold is the number of blobs from which MissingOf lists the shard
// directories instead of looking each blob up.
const listThreshold = 2048

// MissingOf returns those of shas that are not stored, sorted and without
// duplicates; an invalid name counts as missing. For many blobs it reads the
// shard directories (256 listings) rather than making one stat(2) per blob.
func (b *Blobs) MissingOf(shas []string) []string {
	b.gcMu.RLock()
	defer b.gcMu.RUnlock()
	var unknown []string
	b.mu.Lock()
	for _, h := range shas {
		if k, ok := keyOf(h); ok {
			if _, known := b.known[k]; known {
				continue
			}
		}
		unknown = append(unknown, h)
	}
	b.mu.Unlock()
	shas = unknown
	var out []string
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
				if !b.Has(h) {
					out = append(out, h)
				}
			}
		}
		sort.Strings(out)
		return out
	}
	byShard := map[string][]string{}
	for _, h := range shas {
		if !orchard.ValidSHA256(h) {
			out = append(out, h)
			continue
		}
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

// GC removes every blob not in keep (and temporary files left by a crash)
// and returns how many blobs it removed. Callers must put in keep every blob
// of every manifest they still hold, staged ones included (Store.GC does).
func (b *Blobs) GC(keep map[string]bool) (int, error) {
	b.gcMu.Lock()
	defer b.gcMu.Unlock()
	shards, err := os.ReadDir(b.dir)
	if err != nil {
		return 0, fmt.Errorf("gc blobs: %w", err)
	}
	removed := 0
	for _, s := range shards {
		if !s.IsDir() || (len(s.Name()) != 2 && s.Name() != stagingDir) {
			continue
		}
		sd := filepath.Join(b.dir, s.Name())
		files, err := os.ReadDir(sd)
		if err != nil {
			return removed, fmt.Errorf("gc blobs: %w", err)
		}
		for _, f := range files {
			name := f.Name()
			if keep[name] {
				continue
			}
			if !orchard.ValidSHA256(name) && !strings.HasPrefix(name, ".tmp-") {
				continue
			}
			// A young blob or temporary file may belong to a build or
			// stage in progress: leave it alone.
			if info, err := f.Info(); err != nil || time.Since(info.ModTime()) < b.Grace {
				continue
			}
			b.forget(name)
			if err := os.Remove(filepath.Join(sd, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return removed, fmt.Errorf("gc blobs: %w", err)
			}
			if orchard.ValidSHA256(name) {
				removed++
			}
		}
	}
	return removed, nil
}
