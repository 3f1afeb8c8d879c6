package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/orchardhq/orchard"
)

// Opening a store read and checked the idx of every pack: at 10,000 small
// sites, half a million blob names, tens of megabytes to read and hash
// before a CLI command (build -s, publish -s) could look up one blob. The
// filter cache, one file beside the packs, keeps each pack's filter (see
// filter) with the stamp (inode, mtime, size) of the idx it was made from
// and what that idx says of the pack (covered, count). A pack whose idx
// still has the recorded stamp is opened lazily: its idx is not read; a
// lookup asks its filter and, when that says maybe, binary-searches the
// idx file on disk (a few reads of 48 bytes). The idx is read whole, and
// checked, only when the pack is written to, compacted or changes.
//
// Like the active index (activeindex.go), the cache is only a cache: it is
// written without fsync, whole (temporary file, rename) and checksummed;
// a torn, corrupt, stale or missing cache costs reading the idx files it
// does not describe, never a wrong answer. Every idx write makes a new
// file (renamed into place), so an idx with the recorded stamp is the one
// the filter was made from, provided the stamp was at least stampAge old
// when recorded (see activeindex.go: a young stamp is not recorded). An
// idx damaged in place after it was recorded is no longer caught at Open;
// an entry read from it must still lie inside the pack.
//
//	"ORCHBF02"
//	per pack: num (uint32) | idx inode (uint64) | idx mtime (int64 ns) |
//	          idx size (uint64) | covered (uint64) | count (uint64) |
//	          words (uint32) | words x uint64
//	CRC-32C (Castagnoli) of everything before it
//
// The check is a CRC, not the SHA-256 of the first format: it guards a
// local cache against tearing and damage, not against an attacker (who
// could write the idx files as well), and every CLI command that opens
// the store checks the whole file. At 10,000 sites (1.1 MB) SHA-256 cost
// each command 1.3 ms; CRC-32C, which the CPU computes, a tenth of that.
// A cache in the first format is ignored and written again.//
// All numbers little-endian.
const (
	filterCacheFile  = "filters"
	filterCacheMagic = "ORCHBF02"
	filterRecHeader  = 4 + 8 + 8 + 8 + 8 + 8 + 4
)

// cachedFilter is what the filter cache says of one pack.
type cachedFilter struct {
	stamp   fileStamp // of the idx the filter was made from
	covered int64
	count   int64
	filter  filter
}

// encodeFilterCache encodes the records of packs, by number.
func encodeFilterCache(recs map[int]cachedFilter) []byte {
	nums := make([]int, 0, len(recs))
	size := len(filterCacheMagic) + filterCacheSumBytes
	for num, r := range recs {
		nums = append(nums, num)
		size += filterRecHeader + 8*len(r.filter)
	}
	slices.Sort(nums)
	buf := make([]byte, 0, size)
	buf = append(buf, filterCacheMagic...)
	for _, num := range nums {
		r := recs[num]
		buf = binary.LittleEndian.AppendUint32(buf, uint32(num))
		buf = binary.LittleEndian.AppendUint64(buf, r.stamp.ino)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(r.stamp.mtime))
		buf = binary.LittleEndian.AppendUint64(buf, uint64(r.stamp.size))
		buf = binary.LittleEndian.AppendUint64(buf, uint64(r.covered))
		buf = binary.LittleEndian.AppendUint64(buf, uint64(r.count))
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(r.filter)))
		for _, w := range r.filter {
			buf = binary.LittleEndian.AppendUint64(buf, w)
		}
	}
	return binary.LittleEndian.AppendUint32(buf, filterCacheSum(buf))
}

// filterCacheSumBytes is the size of the filter cache's checksum.
const filterCacheSumBytes = 4

// filterCacheSum returns the CRC-32C of data: the polynomial the CPU's
// crc32 instruction computes (MakeTable returns the table it keeps).
func filterCacheSum(data []byte) uint32 {
	return crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))
}

// errBadFilterCache marks a filter cache that cannot be used.
var errBadFilterCache = errors.New("corrupt filter cache")

// parseFilterCache checks and decodes a filter cache.
func parseFilterCache(data []byte) (map[int]cachedFilter, error) {
	if len(data) < len(filterCacheMagic)+filterCacheSumBytes || string(data[:len(filterCacheMagic)]) != filterCacheMagic {
		return nil, fmt.Errorf("%w: bad header", errBadFilterCache)
	}
	body, sum := data[:len(data)-filterCacheSumBytes], data[len(data)-filterCacheSumBytes:]
	if filterCacheSum(body) != binary.LittleEndian.Uint32(sum) {
		return nil, fmt.Errorf("%w: checksum mismatch", errBadFilterCache)
	}
	recs := map[int]cachedFilter{}
	p := body[len(filterCacheMagic):]
	last := -1
	for len(p) > 0 {
		if len(p) < filterRecHeader {
			return nil, fmt.Errorf("%w: short record", errBadFilterCache)
		}
		num := int(binary.LittleEndian.Uint32(p))
		r := cachedFilter{stamp: fileStamp{
			ino:   binary.LittleEndian.Uint64(p[4:]),
			mtime: int64(binary.LittleEndian.Uint64(p[12:])),
			size:  int64(binary.LittleEndian.Uint64(p[20:])),
		}}
		covered, count := binary.LittleEndian.Uint64(p[28:]), binary.LittleEndian.Uint64(p[36:])
		words := uint64(binary.LittleEndian.Uint32(p[44:]))
		p = p[filterRecHeader:]
		switch {
		case num <= last:
			return nil, fmt.Errorf("%w: packs out of order", errBadFilterCache)
		case covered > 1<<62 || count > 1<<40 || r.stamp.size < 0:
			return nil, fmt.Errorf("%w: bad sizes", errBadFilterCache)
		case uint64(r.stamp.size) != idxHeaderBytes+count*idxEntryBytes+sha256.Size:
			return nil, fmt.Errorf("%w: idx size does not match its count", errBadFilterCache)
		case words != uint64(filterWords(int(count))):
			return nil, fmt.Errorf("%w: filter size does not match its count", errBadFilterCache)
		case uint64(len(p)) < 8*words:
			return nil, fmt.Errorf("%w: short filter", errBadFilterCache)
		}
		last = num
		r.covered, r.count = int64(covered), int64(count)
		r.filter = filterOf(p[:8*words])
		p = p[8*words:]
		recs[num] = r
	}
	return recs, nil
}

// filterWords returns the words of the filter newFilter makes of count
// names: a power of two, about 16 bits a name.
func filterWords(count int) int {
	if count == 0 {
		return 0
	}
	n := 1
	for n*4 < count {
		n <<= 1
	}
	return n
}

// readFilterCache returns the records of the filter cache, or nil when it
// is missing or cannot be used. A large cache (1.1 MB at 10,000 sites) is
// mapped, not read: reading it into the heap and copying its filters out
// cost a CLI command 10 ms of page faults, mapping it 1 ms (its checksum
// still reads it all). The filters then point into the mapping, which is
// never unmapped: a pack may keep its filter as long as the process runs,
// and a store is opened once by the commands that have large ones. The
// file is replaced by a rename, never changed in place, so the mapped
// bytes stay what was checked.
func (b *Blobs) readFilterCache() map[int]cachedFilter {
	return readFilterCacheFile(filepath.Join(b.packDir, filterCacheFile), filterCacheMapBytes)
}

// readFilterCacheFile reads the filter cache at path, mapping it when it
// has at least mapFrom bytes.
func readFilterCacheFile(path string, mapFrom int64) map[int]cachedFilter {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	var data []byte
	mapped := false
	if size := st.Size(); size >= mapFrom && size <= maxFilterCacheBytes && littleEndian {
		data, err = unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_PRIVATE)
		mapped = err == nil
	} else {
		data, err = io.ReadAll(io.LimitReader(f, maxFilterCacheBytes))
	}
	if err != nil {
		return nil
	}
	recs, err := parseFilterCache(data)
	if err != nil {
		if mapped {
			_ = unix.Munmap(data) // nothing points into it
		}
		return nil
	}
	return recs
}

const (
	// filterCacheMapBytes is the size from which readFilterCache maps
	// the cache instead of reading it.
	filterCacheMapBytes = 256 << 10
	// maxFilterCacheBytes bounds the cache readFilterCache takes: 1 GiB
	// describes some 500 million blobs.
	maxFilterCacheBytes = 1 << 30
)

// littleEndian tells whether this machine stores a uint64 as the cache
// does, so that filterOf can use the cache's words in place.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// filterOf returns the filter whose words, little-endian, are data: the
// bytes themselves when the machine is little-endian and data is aligned
// for uint64 (a mapping, or a buffer of the heap), else a copy. Filters
// are never written once made, so sharing data is safe.
func filterOf(data []byte) filter {
	n := len(data) / 8
	if n == 0 {
		return nil
	}
	if littleEndian && uintptr(unsafe.Pointer(&data[0]))%8 == 0 {
		return unsafe.Slice((*uint64)(unsafe.Pointer(&data[0])), n)
	}
	f := make(filter, n)
	for i := range f {
		f[i] = binary.LittleEndian.Uint64(data[8*i:])
	}
	return f
}

// writeFilterCache records the filter of every open pack whose idx is
// known (read whole, or lazily through a record of the cache), not written
// by this process, and done growing: full (PackEntries), or untouched for
// filterCacheQuiet. Then the file changes when a pack fills, not at every
// publish, which appends to a pack that is not full and so made each
// command after it rewrite the filters of every pack (1.1 MB at 10,000
// sites); a pack still growing is small, and Open reads its idx. It
// writes when that tells the next Open more than cached describes.
// Failing to write it costs the next Open time, nothing else.
func (b *Blobs) writeFilterCache(cached map[int]cachedFilter) {
	now := time.Now()
	full := int64(orchard.OrDefault(b.PackEntries, DefaultPackEntries))
	recs := map[int]cachedFilter{}
	b.mu.RLock()
	for num, p := range b.packs {
		if p.write || p.idxStamp == (fileStamp{}) {
			continue
		}
		count := int64(p.entries.count())
		if p.lazy != nil {
			count = p.lazy.count
		}
		if age := now.Sub(time.Unix(0, p.idxStamp.mtime)); age < stampAge || count < full && age < filterCacheQuiet {
			continue
		}
		recs[num] = cachedFilter{stamp: p.idxStamp, covered: p.covered, count: count, filter: p.filter}
	}
	b.mu.RUnlock()
	same := len(recs) == len(cached)
	for num, r := range recs {
		if c, ok := cached[num]; !ok || c.stamp != r.stamp {
			same = false
		}
	}
	if same {
		return
	}
	_ = WriteCacheFile(filepath.Join(b.packDir, filterCacheFile), encodeFilterCache(recs))
}

// filterCacheQuiet is how long a pack that is not full must go untouched
// before the filter cache records it (writeFilterCache).
const filterCacheQuiet = 10 * time.Minute

// lazyIdx is the idx of a pack opened through the filter cache, not read:
// lookups binary-search the file, until lazyLoadAfter of them have: then
// the idx is mapped (a long-running process, a node warming up its sites,
// looks up every blob; a CLI command a few dozen). Mapped, not read into
// the heap: a node of 1,000 sites of 50 pages held 4.9 KB of idx entries
// per site in its heap; the page cache holds them now, as git maps its
// pack indexes.
type lazyIdx struct {
	f       *os.File
	count   int64
	lookups atomic.Int64
	mapped  []byte // the idx file, once mapped; guarded by Blobs.mu
}

// lazyLoadAfter is how many lookups on disk a pack opened lazily answers
// before its idx is mapped.
const lazyLoadAfter = 64

// loadLazy maps the idx of p (see lazyIdx), unless p has left the store
// meanwhile; when it cannot, it reads the idx whole.
func (b *Blobs) loadLazy(p *pack) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.packs[p.num] != p || p.lazy == nil || p.lazy.mapped != nil {
		return
	}
	if err := p.lazy.mapIdx(); err == nil {
		return
	}
	if err := b.loadLocked(p); err != nil {
		b.log.Warn("blob store: pack left out of lookups", "pack", p.path, "err", err)
	}
}

// mapIdx maps the idx file read-only, when it is as long as its count
// says; the caller holds Blobs.mu.
func (lz *lazyIdx) mapIdx() error {
	size := idxHeaderBytes + lz.count*idxEntryBytes + sha256.Size
	fi, err := lz.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != size {
		return fmt.Errorf("%w: idx of %d bytes, %d expected", errBadIdx, fi.Size(), size)
	}
	data, err := mapFile(lz.f, size)
	if err != nil {
		return err
	}
	lz.mapped = data
	return nil
}

// unmap releases the mapping of the idx, if any; the caller holds
// Blobs.mu, or the pack has left the store.
func (lz *lazyIdx) unmap() {
	if lz != nil && lz.mapped != nil {
		_ = unix.Munmap(lz.mapped)
		lz.mapped = nil
	}
}

// lookupDisk finds the blob k in the idx file of p (opened lazily) by a
// binary search of the file. An entry that does not lie inside the pack
// is not trusted: not found.
func (p *pack) lookupDisk(k [32]byte) (packEntry, bool) {
	lo, hi := int64(0), p.lazy.count
	var buf [idxEntryBytes]byte
	for lo < hi {
		mid := int64(uint64(lo+hi) >> 1)
		at := idxHeaderBytes + mid*idxEntryBytes
		rec := buf[:]
		if m := p.lazy.mapped; m != nil {
			rec = m[at : at+idxEntryBytes]
		} else if _, err := p.lazy.f.ReadAt(rec, at); err != nil {
			return packEntry{}, false
		}
		switch c := bytes.Compare(rec[:32], k[:]); {
		case c < 0:
			lo = mid + 1
		case c > 0:
			hi = mid
		default:
			off, size := binary.LittleEndian.Uint64(rec[32:]), binary.LittleEndian.Uint64(rec[40:])
			if off < uint64(len(packMagic)+recHeaderBytes) || size > uint64(p.covered) || off > uint64(p.covered)-size {
				return packEntry{}, false
			}
			return packEntry{sha: k, off: int64(off), size: int64(size)}, true
		}
	}
	return packEntry{}, false
}

// loadLocked maps the idx of p, opened lazily, whole and checks it: what
// appending to p or compacting it needs. A pack whose idx no longer reads
// as it did is left out of lookups. The caller holds b.mu.
func (b *Blobs) loadLocked(p *pack) error {
	if p.lazy == nil {
		return nil
	}
	lz := p.lazy
	covered, entries, err := readIdx(lz.f)
	if err == nil && (covered != p.covered || int64(entries.count()) != lz.count) {
		entries.unmap()
		err = fmt.Errorf("%w: covers %d bytes in %d entries, the filter cache said %d in %d",
			errBadIdx, covered, entries.count(), p.covered, lz.count)
	}
	if err != nil {
		b.dropPackLocked(p)
		p.retire()
		return fmt.Errorf("pack %s: %w", p.path, err)
	}
	lz.unmap()
	p.lazy = nil // its file stays open, for readers that found it, until p is retired
	p.setEntries(entries)
	return nil
}

// openLazy opens the idx file idx (stat ist) for lookups on disk when it
// still has the stamp the filter cache record r was made from.
func openLazy(r cachedFilter, idx string, ist fs.FileInfo) *lazyIdx {
	if stampOf(ist) != r.stamp {
		return nil
	}
	f, err := openPlain(idx, os.O_RDONLY)
	if err != nil {
		return nil
	}
	if fst, err := f.Stat(); err != nil || stampOf(fst) != r.stamp {
		f.Close()
		return nil
	}
	return &lazyIdx{f: f, count: r.count}
}
