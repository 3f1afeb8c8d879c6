package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// idxEntries is what a pack's idx names, sorted by blob name: the idx file
// itself, mapped read-only once checked, or a slice where it could not be
// mapped. Mapped, the entries live in the page cache, not in the heap, as
// git maps its pack indexes: a node of 1,000 sites of 50 pages held 4.7 KB
// of idx entries per site in its heap (48 bytes a blob), a third of the
// 16 KiB a site may cost it (issue 23).
type idxEntries struct {
	mapped []byte      // a whole idx file that checkIdx accepted; nil when list holds the entries
	list   []packEntry // sorted by sha
}

// count returns the number of entries.
func (x idxEntries) count() int {
	if x.mapped != nil {
		return (len(x.mapped) - idxHeaderBytes - sha256.Size) / idxEntryBytes
	}
	return len(x.list)
}

// at returns entry i.
func (x idxEntries) at(i int) packEntry {
	if x.mapped == nil {
		return x.list[i]
	}
	rec := x.mapped[idxHeaderBytes+i*idxEntryBytes:][:idxEntryBytes]
	e := packEntry{off: int64(binary.LittleEndian.Uint64(rec[32:])), size: int64(binary.LittleEndian.Uint64(rec[40:]))}
	copy(e.sha[:], rec[:32])
	return e
}

// sha returns the name of entry i.
func (x idxEntries) sha(i int) []byte {
	if x.mapped == nil {
		return x.list[i].sha[:]
	}
	return x.mapped[idxHeaderBytes+i*idxEntryBytes:][:32]
}

// find returns the entry of blob k, by a binary search.
func (x idxEntries) find(k [32]byte) (packEntry, bool) {
	lo, hi := 0, x.count()
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		switch c := bytes.Compare(x.sha(mid), k[:]); {
		case c < 0:
			lo = mid + 1
		case c > 0:
			hi = mid
		default:
			return x.at(mid), true
		}
	}
	return packEntry{}, false
}

// unmap releases the mapping, if any, leaving no entries. The caller
// holds Blobs.mu, or the pack has left the store: lookups read the
// mapping under Blobs.mu.
func (x *idxEntries) unmap() {
	if x.mapped != nil {
		_ = unix.Munmap(x.mapped)
	}
	*x = idxEntries{}
}

// checkIdx checks an idx file's bytes, as parseIdx does, without copying
// its entries out, and returns the length of the pack it covers.
func checkIdx(data []byte) (covered int64, err error) {
	if len(data) < idxHeaderBytes+sha256.Size || string(data[:8]) != idxMagic {
		return 0, fmt.Errorf("%w: bad header", errBadIdx)
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if s := sha256.Sum256(body); !bytes.Equal(s[:], sum) {
		return 0, fmt.Errorf("%w: checksum mismatch", errBadIdx)
	}
	count := binary.LittleEndian.Uint64(data[8:])
	cov := binary.LittleEndian.Uint64(data[16:])
	if count > uint64(len(body)) || uint64(len(body)) != idxHeaderBytes+count*idxEntryBytes || cov > 1<<62 {
		return 0, fmt.Errorf("%w: bad length", errBadIdx)
	}
	var prev []byte
	for p := body[idxHeaderBytes:]; len(p) > 0; p = p[idxEntryBytes:] {
		off, size := binary.LittleEndian.Uint64(p[32:]), binary.LittleEndian.Uint64(p[40:])
		if off < uint64(len(packMagic)+recHeaderBytes) || size > cov || off > cov-size {
			return 0, fmt.Errorf("%w: entry outside the pack", errBadIdx)
		}
		if prev != nil && bytes.Compare(prev, p[:32]) >= 0 {
			return 0, fmt.Errorf("%w: entries not sorted", errBadIdx)
		}
		prev = p[:32]
	}
	return int64(cov), nil
}

// readIdxFile maps and checks the idx file at path.
func readIdxFile(path string) (int64, idxEntries, error) {
	f, err := openPlain(path, os.O_RDONLY)
	if err != nil {
		return 0, idxEntries{}, err
	}
	defer f.Close()
	return readIdx(f)
}

// readIdx maps and checks the idx file f; where it cannot be mapped, it
// reads it into the heap.
func readIdx(f *os.File) (int64, idxEntries, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, idxEntries{}, err
	}
	if data, err := mapFile(f, fi.Size()); err == nil {
		covered, err := checkIdx(data)
		if err != nil {
			_ = unix.Munmap(data)
			return 0, idxEntries{}, err
		}
		return covered, idxEntries{mapped: data}, nil
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return 0, idxEntries{}, err
	}
	covered, list, err := parseIdx(data)
	return covered, idxEntries{list: list}, err
}

// mapFile maps the first size bytes of f read-only. Files mapped so are
// never changed in place: an idx is replaced by a rename.
func mapFile(f *os.File, size int64) ([]byte, error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, fmt.Errorf("map %s: %d bytes", f.Name(), size)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var data []byte
	var merr error
	if err := rc.Control(func(fd uintptr) {
		data, merr = unix.Mmap(int(fd), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	}); err != nil {
		return nil, err
	}
	return data, merr
}
