package release

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"time"

	"github.com/orchardhq/orchard"
)

// errClosed is returned by writes to a closed store.
var errClosed = errors.New("blob store closed")

// appendBlob appends data, whose SHA-256 is k, to the current pack unless
// the store has it (packed, appended, or remembered loose) already.
func (b *Blobs) appendBlob(k [32]byte, data []byte) error {
	_, err := b.writeRecord(k, data, false)
	return err
}

// writeRecord writes a record of data (SHA-256 k) at the end of the current
// pack, rolling to a new pack past PackBytes, and notes it as unsynced. The
// space is reserved under b.mu, the bytes written without it (readers are
// not held up by a large blob), and the record registered under it again.
// Unless relocate (GC moving a blob out of a pack it deletes, which updates
// the index itself), a blob the store holds already is not written, and is
// indexed once written; a record written twice at once stays as dead bytes.
func (b *Blobs) writeRecord(k [32]byte, data []byte, relocate bool) (packLoc, error) {
	n := int64(recHeaderBytes + len(data))
	var hdr [recHeaderBytes]byte
	copy(hdr[:], k[:])
	binary.LittleEndian.PutUint64(hdr[32:], uint64(len(data)))
	for {
		b.mu.Lock()
		if !relocate {
			if l, ok := b.findLocked(k); ok {
				l.p.lastUse.Store(time.Now().UnixNano())
				b.mu.Unlock()
				return l, nil
			}
			if _, ok := b.known[k]; ok {
				b.mu.Unlock()
				return packLoc{}, nil
			}
		}
		p, err := b.packForLocked(n)
		if err != nil {
			b.mu.Unlock()
			return packLoc{}, err
		}
		off := p.size
		p.size += n
		p.inflight++
		p.lastUse.Store(time.Now().UnixNano())
		b.mu.Unlock()

		_, err = p.f.WriteAt(hdr[:], off)
		if err == nil {
			_, err = p.f.WriteAt(data, off+recHeaderBytes)
		}

		b.mu.Lock()
		p.inflight--
		if err != nil {
			// No idx ever names these bytes: dead, or cut off at Open.
			b.mu.Unlock()
			return packLoc{}, fmt.Errorf("put blob: %w", err)
		}
		if b.packs[p.num] != p { // closed meanwhile
			b.mu.Unlock()
			return packLoc{}, errClosed
		}
		l := packLoc{p: p, off: off + recHeaderBytes, size: int64(len(data))}
		if !relocate {
			if _, dup := b.findLocked(k); dup {
				b.mu.Unlock()
				return l, nil
			}
			b.index[k] = l
		}
		p.unsynced = append(p.unsynced, pendingEntry{packEntry: packEntry{sha: k, off: l.off, size: l.size}, at: time.Now()})
		b.mu.Unlock()
		return l, nil
	}
}

// packForLocked returns the pack to append a record of n bytes to,
// rolling to a new one past PackBytes or PackEntries. The caller holds
// b.mu.
func (b *Blobs) packForLocked(n int64) (*pack, error) {
	if b.closed {
		return nil, errClosed
	}
	limit := orchard.OrDefault(b.PackBytes, DefaultPackBytes)
	entries := orchard.OrDefault(b.PackEntries, DefaultPackEntries)
	if b.cur == nil && !b.reuseTried {
		b.reuseTried = true
		b.cur = b.reuseLocked(limit, entries)
	}
	if p := b.cur; p != nil && ((p.size+n <= limit && p.records() < entries) || p.size == int64(len(packMagic))) {
		return p, nil
	}
	np, err := createPack(b.packDir, b.nextNum)
	if err != nil {
		return nil, fmt.Errorf("put blob: new pack: %w", err)
	}
	b.nextNum = np.num + 1
	b.setPackLocked(np)
	b.cur = np
	return np, nil
}

// records counts the records of p: named by its idx, appended since, and
// being written. The caller holds Blobs.mu.
func (p *pack) records() int { return p.entries.count() + len(p.unsynced) + p.inflight }

// Sync makes every blob appended so far durable and visible: it fsyncs each
// pack appended to since the last Sync, then replaces the pack's index. When
// Sync returns nil, every blob put before it was called is stored under its
// name, for this process and any that opens the store.
func (b *Blobs) Sync() error {
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	return b.syncLocked()
}

// syncJob is the part of one pack a Sync makes durable.
type syncJob struct {
	p     *pack
	end   int64
	batch []pendingEntry
	all   idxEntries // the pack's idx after this Sync
	done  bool       // the idx was written
	fail  bool       // fsync or idx write failed
}

// syncLocked is Sync; the caller holds syncMu.
func (b *Blobs) syncLocked() error {
	b.mu.Lock()
	var jobs []syncJob
	for _, p := range b.packs {
		if len(p.unsynced) > 0 {
			// The idx covers up to the end of the last record it names:
			// every such record was written whole before the fsync, while
			// space reserved past it may not be written yet.
			end := p.covered
			for _, e := range p.unsynced {
				end = max(end, e.off+e.size)
			}
			jobs = append(jobs, syncJob{p: p, end: end, batch: p.unsynced})
			p.unsynced = nil
		}
	}
	b.mu.Unlock()
	var err error
	for i := range jobs {
		j := &jobs[i]
		if err != nil {
			break
		}
		if err = j.p.f.Sync(); err != nil {
			err = fmt.Errorf("sync blobs: %w", err)
			j.fail = true
			break
		}
		j.done = true
		// Only Sync (syncMu) changes the entries of a pack this process
		// writes; the lock keeps a mapping from being released under the
		// merge all the same.
		j.all, err = writeIdx(j.p, func(w io.Writer) error {
			b.mu.RLock()
			defer b.mu.RUnlock()
			n, all := mergedEntries(j.p.entries, j.batch)
			return writeIdxTo(w, n, j.end, all)
		})
		if err != nil {
			err = fmt.Errorf("sync blobs: %w", err)
			j.fail = true
			break
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, j := range jobs {
		if j.fail {
			// After a failed fsync the kernel may have dropped the
			// pages: these records are as good as never written. They
			// are forgotten (a later put writes them again, to a new
			// pack) rather than trusted to a later fsync.
			for _, e := range j.batch {
				if l, ok := b.index[e.sha]; ok && l.p == j.p && l.off == e.off {
					delete(b.index, e.sha)
				}
			}
			if b.cur == j.p {
				b.cur = nil
			}
			continue
		}
		if !j.done { // not attempted: pending again
			j.p.unsynced = append(j.batch, j.p.unsynced...)
			continue
		}
		j.p.setEntries(j.all)
		j.p.covered = j.end
		// The pack's entries (and filter) name the batch now, as they
		// name the blobs of packs other processes wrote: the index
		// forgets them. Kept, it held every blob this process ever
		// appended a second time, ~100 bytes each: 4.5 KiB per site of
		// a node that received 10,000 sites (issue 23).
		for _, e := range j.batch {
			if l, ok := b.index[e.sha]; ok && l.p == j.p && l.off == e.off {
				delete(b.index, e.sha)
			}
		}
	}
	return err
}

// mergedEntries returns how many entries old and batch name together, and
// those entries in order of sha: each blob once, as old names it when it
// does (an idx names each blob once). The sequence reads old as it goes:
// the caller keeps old mapped until it is done.
func mergedEntries(old idxEntries, batch []pendingEntry) (int, iter.Seq[packEntry]) {
	add := make([]packEntry, len(batch))
	for i, e := range batch {
		add[i] = e.packEntry
	}
	sortEntries(add)
	add = slices.CompactFunc(add, func(a, b packEntry) bool { return a.sha == b.sha })
	n := old.count()
	total := n + len(add)
	for _, e := range add {
		if _, ok := old.find(e.sha); ok {
			total--
		}
	}
	return total, func(yield func(packEntry) bool) {
		add := add
		i := 0
		for i < n && len(add) > 0 {
			var e packEntry
			switch c := bytes.Compare(old.sha(i), add[0].sha[:]); {
			case c < 0:
				e = old.at(i)
				i++
			case c > 0:
				e, add = add[0], add[1:]
			default:
				add = add[1:]
				continue
			}
			if !yield(e) {
				return
			}
		}
		for ; i < n; i++ {
			if !yield(old.at(i)) {
				return
			}
		}
		for _, e := range add {
			if !yield(e) {
				return
			}
		}
	}
}

// reuseLocked takes over the newest pack no process is writing, when it
// has room (less than half of limit bytes and of entries blobs), so that
// short-lived processes (one build each) do not leave a small pack each
// behind. Its tail past the idx is cut off first. Its idx is read again
// under the lock unless the pack is as long as the idx read before says:
// an idx names only records the pack held when it was written, so a
// newer one describes a longer pack. It returns nil when there is none
// to take. The caller holds b.mu.
func (b *Blobs) reuseLocked(limit int64, entries int) *pack {
	var p *pack
	for _, q := range b.packs {
		if !q.write && q.rw && (p == nil || q.num > p.num) {
			p = q
		}
	}
	if p == nil || b.loadLocked(p) != nil || p.size >= limit/2 || p.entries.count() >= entries/2 || !tryLock(p.f) {
		return nil
	}
	fst, err := p.f.Stat()
	pst, perr := os.Stat(p.path)
	if err == nil && (perr != nil || !os.SameFile(fst, pst)) { // deleted meanwhile
		err = errors.New("pack replaced")
	}
	if err == nil && fst.Size() != p.covered {
		var covered int64
		var es idxEntries
		covered, es, err = readIdxFile(p.idxPath())
		if err == nil && fst.Size() < covered {
			err = errBadIdx
		}
		if err == nil && fst.Size() > covered {
			err = p.f.Truncate(covered)
		}
		if err == nil {
			ist, _ := os.Stat(p.idxPath())
			b.addEntries(p, es, covered, ist)
		} else {
			es.unmap()
		}
	}
	if err != nil {
		unlock(p.f)
		return nil
	}
	p.size, p.write = p.covered, true
	return p
}
