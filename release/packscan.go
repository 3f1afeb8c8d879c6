package release

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// scan reads the packs directory: every pack with a valid idx not known yet
// is opened and its blobs indexed, and the idx of a pack another process
// writes is read again when it changed. With repair (at Open), a pack no
// process holds is checked: its tail past the idx is cut off, and a pack
// without a valid idx is removed, as is an idx without its pack.
func (b *Blobs) scan(repair bool) error {
	b.scanMu.Lock()
	defer b.scanMu.Unlock()
	d, err := os.Open(b.packDir)
	if err != nil {
		return err
	}
	st, err := d.Stat()
	if err != nil {
		d.Close()
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.scanMod = st.ModTime()
	b.mu.Unlock()
	packs, idxs := map[int]bool{}, map[int]bool{}
	maxNum := -1
	for _, n := range names {
		num, ext, ok := parsePackName(n)
		if !ok {
			continue
		}
		maxNum = max(maxNum, num)
		if ext == "pack" {
			packs[num] = true
		} else {
			idxs[num] = true
		}
	}
	for num := range packs {
		if err := b.scanPack(num, repair); err != nil {
			return err
		}
	}
	if repair {
		for num := range idxs {
			if !packs[num] { // its pack was removed (GC) before it
				os.Remove(filepath.Join(b.packDir, packName(num)+".idx"))
			}
		}
	}
	b.mu.Lock()
	b.nextNum = max(b.nextNum, maxNum+1)
	b.mu.Unlock()
	return nil
}

// scanPack indexes (or re-reads) pack num; see scan.
func (b *Blobs) scanPack(num int, repair bool) error {
	b.mu.RLock()
	p := b.packs[num]
	var ours bool
	var idxSize int64
	var idxMod time.Time
	if p != nil {
		ours, idxSize, idxMod = p.write, p.idxSize, p.idxMod
	}
	b.mu.RUnlock()
	path := filepath.Join(b.packDir, packName(num)+".pack")
	idx := filepath.Join(b.packDir, packName(num)+".idx")
	if ours {
		return nil // known as well as it can be
	}
	ist, ierr := os.Stat(idx)
	if p != nil {
		if ierr != nil || (ist.Size() == idxSize && ist.ModTime().Equal(idxMod)) {
			return nil
		}
		covered, entries, err := readIdxFile(idx)
		if err != nil {
			return nil // being replaced, or damaged: keep what we know
		}
		b.mu.Lock()
		if !p.write { // not taken over meanwhile
			b.addEntries(p, entries, covered, ist)
		} else {
			entries.unmap()
		}
		b.mu.Unlock()
		return nil
	}
	f, err := openPlain(path, os.O_RDWR)
	rw := err == nil
	if errors.Is(err, fs.ErrPermission) {
		f, err = openPlain(path, os.O_RDONLY)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("pack %s: %w", path, err)
	}
	var covered int64
	var entries idxEntries
	var lazy *lazyIdx
	var rec cachedFilter
	if ierr == nil {
		// Opening the store: its idx need not be read if the filter
		// cache describes it (see packfilters.go).
		var ok bool
		if rec, ok = b.cached[num]; ok {
			if lazy = openLazy(rec, idx, ist); lazy != nil {
				covered = rec.covered
			}
		}
		if lazy == nil {
			covered, entries, ierr = readIdxFile(idx)
		}
	}
	fst, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("pack %s: %w", path, err)
	}
	// A pack that may need repair (a damaged idx, a length the idx does
	// not describe) is locked first: a locked pack is being written by
	// another process (or another Blobs of this one), not ours to judge.
	// Most packs need none, and are not locked (two system calls each, at
	// every CLI command).
	locked := false
	if repair && (ierr != nil || fst.Size() != covered) && tryLock(f) {
		locked = true
		defer unlock(f)
		if fst, err = f.Stat(); err != nil {
			f.Close()
			return fmt.Errorf("pack %s: %w", path, err)
		}
	}
	if ierr == nil && fst.Size() < covered {
		ierr = fmt.Errorf("%w: pack shorter (%d bytes) than its index says (%d)", errBadIdx, fst.Size(), covered)
	}
	if ierr != nil {
		if lazy != nil {
			lazy.f.Close()
		}
		entries.unmap()
		if locked {
			b.note("removed untrusted pack", "pack", path, "reason", ierr.Error())
			os.Remove(idx)
			os.Remove(path)
		}
		f.Close()
		return nil
	}
	p = &pack{num: num, path: path, f: f, rw: rw, size: covered}
	if lazy != nil {
		p.idxF = lazy.f
	}
	if locked && fst.Size() > covered {
		if err := f.Truncate(covered); err != nil {
			p.closeFiles()
			return fmt.Errorf("pack %s: cut unsynced tail: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			p.closeFiles()
			return fmt.Errorf("pack %s: cut unsynced tail: %w", path, err)
		}
		b.note("cut unsynced pack tail", "pack", path, "bytes", fst.Size()-covered)
	}
	p.lastUse.Store(fst.ModTime().UnixNano())
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		entries.unmap()
		p.closeFiles()
		return nil
	}
	b.setPackLocked(p)
	if lazy != nil {
		p.lazy, p.filter, p.covered = lazy, rec.filter, covered
		p.idxSize, p.idxMod, p.idxStamp = ist.Size(), ist.ModTime(), rec.stamp
		return nil
	}
	b.addEntries(p, entries, covered, ist)
	return nil
}

// addEntries records the idx of p read from disk (its stat ist): its
// blobs are found (findLocked) by a binary search of its entries, not
// entered one by one in a map, so opening a store costs reading and
// checking its idx files, not hashing every blob name into a map. The
// caller holds b.mu.
func (b *Blobs) addEntries(p *pack, entries idxEntries, covered int64, ist fs.FileInfo) {
	p.lazy.unmap()
	p.lazy = nil // read whole now; its file stays open until p is retired
	p.setEntries(entries)
	p.covered = covered
	p.size = max(p.size, covered)
	if ist != nil {
		p.idxSize, p.idxMod, p.idxStamp = ist.Size(), ist.ModTime(), stampOf(ist)
	}
}

// note logs a repair and keeps it for Recovered.
func (b *Blobs) note(msg string, args ...any) {
	b.log.Warn("blob store: "+msg, args...)
	b.mu.Lock()
	b.recovery = append(b.recovery, fmt.Sprint(append([]any{msg}, args...)...))
	b.mu.Unlock()
}

// refresh reads the packs directory again when it changed since the last
// scan (another process synced a pack), and reports whether it did. A
// directory changed within the last second is always read again: its
// mtime may not tell two changes apart.
func (b *Blobs) refresh() bool {
	st, err := os.Stat(b.packDir)
	if err != nil {
		return false
	}
	b.mu.RLock()
	same := st.ModTime().Equal(b.scanMod) && time.Since(st.ModTime()) > time.Second
	closed := b.closed
	b.mu.RUnlock()
	if same || closed {
		return false
	}
	return b.scan(false) == nil
}

// openPlain opens the regular file at path with flag, as os.OpenFile does
// but without what os.OpenFile adds for files that could be polled (an
// fstat, an epoll registration that fails, four fcntl): opening a store
// opens two files for each of its packs, 140 at 10,000 sites, at every
// CLI command.
func openPlain(path string, flag int) (*os.File, error) {
	fd, err := unix.Open(path, flag|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}
