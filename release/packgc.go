package release

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/orchardhq/orchard"
)

// GC removes every blob not in keep and returns how many blobs it removed.
// Callers must put in keep every blob of every manifest they still hold,
// staged ones included (Store.GC does). Blobs younger than Grace are kept.
//
// Loose blobs are removed one by one (with temporary files left by a
// crash). Packs are judged as a whole: a pack none of whose blobs is kept
// is deleted; one whose kept blobs fill less than half of it is compacted
// (its kept blobs appended to the current pack, synced, then the pack
// deleted). Blobs appended but never synced (a stage never activated) are
// forgotten. A reader holding a blob of a deleted pack can still read it.
func (b *Blobs) GC(keep map[string]bool) (int, error) {
	keepK := make(map[[32]byte]bool, len(keep))
	for h, ok := range keep {
		if k, valid := keyOf(h); valid && ok {
			keepK[k] = true
		}
	}
	return b.gcKeys(keepK)
}

// gcKeys is GC for the blobs keep names by their SHA-256 (Store.GC reads
// them so from manifests).
func (b *Blobs) gcKeys(keep map[[32]byte]bool) (int, error) {
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	removed, err := b.gcLoose(keep)
	if err != nil {
		return removed, err
	}
	n, err := b.gcPacks(keep)
	return removed + n, err
}

// gcLoose is GC for loose blobs.
func (b *Blobs) gcLoose(keep map[[32]byte]bool) (int, error) {
	b.gcMu.Lock()
	defer b.gcMu.Unlock()
	shards, err := os.ReadDir(b.dir)
	if err != nil {
		return 0, fmt.Errorf("gc blobs: %w", err)
	}
	removed := 0
	for _, s := range shards {
		// "staging" held blobs waiting for a Sync before packs.
		if !s.IsDir() || (len(s.Name()) != 2 && s.Name() != "staging" && s.Name() != packDirName) {
			continue
		}
		sd := filepath.Join(b.dir, s.Name())
		files, err := os.ReadDir(sd)
		if err != nil {
			return removed, fmt.Errorf("gc blobs: %w", err)
		}
		for _, f := range files {
			name := f.Name()
			if k, ok := keyOf(name); ok && keep[k] {
				continue
			}
			valid := orchard.ValidSHA256(name) && s.Name() != packDirName
			if !valid && !strings.HasPrefix(name, ".tmp-") {
				continue
			}
			// A young blob or temporary file may belong to a build or
			// stage in progress: leave it alone.
			if info, err := f.Info(); err != nil || time.Since(info.ModTime()) < max(b.Grace, time.Minute*time.Duration(boolInt(!valid))) {
				continue
			}
			b.forget(name)
			if err := os.Remove(filepath.Join(sd, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return removed, fmt.Errorf("gc blobs: %w", err)
			}
			if valid {
				removed++
			}
		}
	}
	return removed, nil
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// gcPacks is GC for packed blobs; the caller holds syncMu.
func (b *Blobs) gcPacks(keepK map[[32]byte]bool) (int, error) {
	now := time.Now()
	removed := 0
	// Appended but never synced, and unreferenced: an abandoned stage.
	b.mu.Lock()
	for _, p := range b.packs {
		kept := p.unsynced[:0]
		for _, e := range p.unsynced {
			if keepK[e.sha] || now.Sub(e.at) < b.Grace {
				kept = append(kept, e)
				continue
			}
			if l, ok := b.index[e.sha]; ok && l.p == p && l.off == e.off {
				delete(b.index, e.sha)
				removed++
			}
		}
		clear(p.unsynced[len(kept):])
		p.unsynced = kept
	}
	var cands []*pack
	for _, p := range b.packs {
		if len(p.unsynced) == 0 && p.inflight == 0 {
			cands = append(cands, p)
		}
	}
	b.mu.Unlock()
	for _, p := range cands {
		n, err := b.gcPack(p, keepK, now)
		removed += n
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// gcPack deletes or compacts p if it is old and mostly unreferenced.
func (b *Blobs) gcPack(p *pack, keepK map[[32]byte]bool, now time.Time) (int, error) {
	st, err := p.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("gc blobs: %w", err)
	}
	if now.Sub(st.ModTime()) < b.Grace || now.Sub(time.Unix(0, p.lastUse.Load())) < b.Grace {
		return 0, nil
	}
	b.mu.RLock()
	ours := p.write
	b.mu.RUnlock()
	if !ours {
		// Another process may be appending to it. (This process taking
		// it over meanwhile is seen below: it has records in flight or
		// unsynced.)
		if !tryLock(p.f) {
			return 0, nil
		}
		defer func() {
			b.mu.RLock()
			taken := p.write // the flock is the appender's now
			b.mu.RUnlock()
			if !taken {
				unlock(p.f)
			}
		}()
	}
	b.mu.Lock()
	err = b.loadLocked(p) // its entries, if it was opened lazily
	b.mu.Unlock()
	if err != nil {
		return 0, nil // left out of lookups: its blobs count as missing
	}
	b.mu.RLock()
	var keptBytes int64
	var kept []packEntry
	dropped := 0
	for i := range p.entries.count() {
		e := p.entries.at(i)
		if l, ok := b.findLocked(e.sha); !ok || l.p != p {
			continue // held by another pack too
		}
		if keepK[e.sha] {
			keptBytes += e.size + recHeaderBytes
			kept = append(kept, e)
		} else {
			dropped++
		}
	}
	total := p.covered
	b.mu.RUnlock()
	if len(kept) > 0 && keptBytes*2 >= total {
		return 0, nil
	}
	// An idle current pack goes like any other: appends move to a new one
	// (before the kept blobs do).
	b.mu.Lock()
	busy := p.inflight > 0 || len(p.unsynced) > 0
	if !busy && b.cur == p {
		b.cur = nil
	}
	b.mu.Unlock()
	if busy {
		return 0, nil
	}
	// Move the kept blobs to the current pack, durably, before the pack
	// that holds them goes.
	moved := make(map[[32]byte]packLoc, len(kept))
	for _, e := range kept {
		data := make([]byte, e.size)
		if _, err := p.f.ReadAt(data, e.off); err != nil {
			return 0, fmt.Errorf("gc blobs: compact %s: %w", p.path, err)
		}
		l, err := b.writeRecord(e.sha, data, true)
		if err != nil {
			return 0, fmt.Errorf("gc blobs: compact %s: %w", p.path, err)
		}
		l.synced = true
		moved[e.sha] = l
	}
	if len(moved) > 0 {
		if err := b.syncLocked(); err != nil {
			return 0, fmt.Errorf("gc blobs: compact %s: %w", p.path, err)
		}
	}
	// Reading the packs directory now would index p again.
	b.scanMu.Lock()
	defer b.scanMu.Unlock()
	b.mu.Lock()
	for i := range p.entries.count() {
		e := p.entries.at(i)
		if nl, ok := moved[e.sha]; ok {
			b.index[e.sha] = nl
		} else if l, ok := b.index[e.sha]; ok && l.p == p {
			delete(b.index, e.sha)
		}
	}
	b.dropPackLocked(p)
	if b.cur == p {
		b.cur = nil
	}
	b.mu.Unlock()
	// The idx goes first: a pack without idx is removed at the next Open.
	if err := os.Remove(p.idxPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return dropped, fmt.Errorf("gc blobs: %w", err)
	}
	if err := os.Remove(p.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return dropped, fmt.Errorf("gc blobs: %w", err)
	}
	p.retire()
	return dropped, nil
}
