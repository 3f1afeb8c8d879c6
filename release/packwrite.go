package release

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// errClosed is returned by writes to a closed store.
var errClosed = errors.New("blob store closed")

// appendBlob appends data, whose SHA-256 is k, to the current pack unless
// the store has it (packed, appended, or remembered loose) already.
func (b *Blobs) appendBlob(k [32]byte, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if l, ok := b.index[k]; ok {
		l.p.lastUse.Store(time.Now().UnixNano())
		return nil
	}
	if _, ok := b.known[k]; ok {
		return nil
	}
	l, err := b.appendLocked(k, data)
	if err != nil {
		return err
	}
	b.index[k] = l
	return nil
}

// appendLocked writes a record of data (SHA-256 k) at the end of the current
// pack, rolling to a new pack past PackBytes, and notes it as unsynced. The
// caller holds b.mu and records the location in the index (or not).
func (b *Blobs) appendLocked(k [32]byte, data []byte) (packLoc, error) {
	if b.closed {
		return packLoc{}, errClosed
	}
	n := int64(recHeaderBytes + len(data))
	limit := b.PackBytes
	if limit <= 0 {
		limit = DefaultPackBytes
	}
	if p := b.cur; p == nil || (p.size+n > limit && p.size > int64(len(packMagic))) {
		np, err := createPack(b.packDir, b.nextNum)
		if err != nil {
			return packLoc{}, fmt.Errorf("put blob: new pack: %w", err)
		}
		b.nextNum = np.num + 1
		b.packs[np.num] = np
		b.cur = np
	}
	p := b.cur
	b.wbuf = append(b.wbuf[:0], k[:]...)
	b.wbuf = binary.LittleEndian.AppendUint64(b.wbuf, uint64(len(data)))
	b.wbuf = append(b.wbuf, data...)
	off := p.size
	if _, err := p.f.WriteAt(b.wbuf, off); err != nil {
		// Whatever reached the file lies past p.size: the next record
		// overwrites it, and no idx ever covers it.
		return packLoc{}, fmt.Errorf("put blob: %w", err)
	}
	if cap(b.wbuf) > 4<<20 {
		b.wbuf = nil
	}
	p.size += n
	e := packEntry{sha: k, off: off + recHeaderBytes, size: int64(len(data))}
	p.unsynced = append(p.unsynced, pendingEntry{packEntry: e, at: time.Now()})
	p.lastUse.Store(time.Now().UnixNano())
	return packLoc{p: p, off: e.off, size: e.size}, nil
}

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
	all   []packEntry // the pack's idx after this Sync
	fail  bool        // fsync or idx write failed
}

// syncLocked is Sync; the caller holds syncMu.
func (b *Blobs) syncLocked() error {
	b.mu.Lock()
	var jobs []syncJob
	for _, p := range b.packs {
		if len(p.unsynced) > 0 {
			jobs = append(jobs, syncJob{p: p, end: p.size, batch: p.unsynced})
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
		b.mu.RLock()
		j.all = make([]packEntry, 0, len(j.p.entries)+len(j.batch))
		j.all = append(j.all, j.p.entries...)
		b.mu.RUnlock()
		for _, e := range j.batch {
			j.all = append(j.all, e.packEntry)
		}
		sortEntries(j.all)
		if err = writeIdx(j.p, j.all, j.end); err != nil {
			err = fmt.Errorf("sync blobs: %w", err)
			j.all, j.fail = nil, true
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
		if j.all == nil { // not attempted: pending again
			j.p.unsynced = append(j.batch, j.p.unsynced...)
			continue
		}
		j.p.entries, j.p.covered = j.all, j.end
		for _, e := range j.batch {
			if l, ok := b.index[e.sha]; ok && l.p == j.p && l.off == e.off {
				l.synced = true
				b.index[e.sha] = l
			}
		}
	}
	return err
}
