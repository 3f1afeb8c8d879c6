package node

import (
	"encoding/hex"
	"math"
	"sync"
	"sync/atomic"

	"github.com/orchardhq/orchard/release"
)

// blob is one blob a node may serve. Its bytes sit in memory while the
// cache holds them; a hit is one atomic load. It is one allocation of 48
// bytes, its name kept once, as the 32 bytes of the hash (its ETag is
// formatted when its bytes are read, see etag), its size in 32 bits: a
// node of 10,000 sites holds hundreds of thousands. What only a cached
// blob needs (its place in the cache's ring, its CLOCK bit) is kept in its
// resident copy.
type blob struct {
	data atomic.Pointer[resident]
	n    uint32 // size in bytes: see size
	// refs counts the entries of active releases that serve the blob;
	// written under Node.mu. At zero the blob has left the node (or has
	// not joined it yet): the cache never makes it resident (cache.get
	// reads it under cache.mu, see cache.drop).
	refs atomic.Int32
	name blobName
}

// maxBlobSize is the size of the largest blob a node serves: a blob keeps
// its size in 32 bits (publishing caps blobs at 256 MiB by default,
// publish.DefaultMaxBlobBytes).
const maxBlobSize int64 = math.MaxUint32

// newBlob returns the blob named name of size bytes.
func newBlob(name blobName, size uint32) *blob {
	return &blob{n: size, name: name}
}

// size returns the blob's size in bytes.
func (b *blob) size() int64 { return int64(b.n) }

// sha returns the blob's name in hex (a new string: for reads from the
// store, which a cache hit never makes).
func (b *blob) sha() string { return hex.EncodeToString(b.name[:]) }

// key returns the blob's key in Node.blobs (see blobName.key).
func (b *blob) key() uint64 { return b.name.key() }

// resident is a cached blob's bytes, its place in the cache, and the ETag
// of a response of them: formatted once when the bytes are read, so that
// a cache hit formats nothing, and kept only while the bytes are (66 bytes
// a cached blob, where every blob held its ETag before). It fits the
// 96-byte size class.
type resident struct {
	data []byte
	// clock is the blob's index in cache.ring shifted left one bit, and
	// in bit 0 (clockUsed) the CLOCK bit: set by a hit (no lock), cleared
	// by the hand. One word, so that the resident stays 96 bytes; the
	// index changes only under cache.mu (setSlot).
	clock atomic.Uint32
	etag  [etagLen]byte
}

// clockUsed is the bit of resident.clock a hit sets: the blob was used
// since the clock hand last passed.
const clockUsed = 1

// slot returns r's index in cache.ring; the caller holds cache.mu.
func (r *resident) slot() int { return int(r.clock.Load() >> 1) }

// setSlot moves r to index i of cache.ring, keeping its used bit, which a
// hit may set meanwhile; the caller holds cache.mu.
func (r *resident) setSlot(i int) {
	for {
		old := r.clock.Load()
		if r.clock.CompareAndSwap(old, uint32(i)<<1|old&clockUsed) {
			return
		}
	}
}

// etagLen is the length of a blob's ETag: its name in hex, quoted.
const etagLen = 1 + 2*len(blobName{}) + 1

// etag returns the ETag of a response of the blob's bytes, `"<sha256>"`:
// its resident copy's, else formatted into dst (the caller's buffer, on
// its stack, so that a request allocates nothing for it).
func (b *blob) etag(dst *[etagLen]byte) []byte {
	if r := b.data.Load(); r != nil {
		return r.etag[:]
	}
	b.formatETag(dst)
	return dst[:]
}

func (b *blob) formatETag(dst *[etagLen]byte) {
	dst[0] = '"'
	b.name.putHex((*[etagLen - 2]byte)(dst[1 : etagLen-1]))
	dst[etagLen-1] = '"'
}

// cache bounds the bytes of blobs held in memory, evicting with the CLOCK
// algorithm (an approximation of LRU that costs a hit no lock).
type cache struct {
	max int64
	src *release.Blobs // the store the blobs are read from (by name, never by a request path); set by Node.Open

	mu   sync.Mutex
	used int64
	ring []*blob
	hand int
}

// get returns the blob's bytes, from memory when resident, else read from
// disk and made resident if the blob is small enough (at most an eighth of
// the cache) and an active release serves it. It returns nil, nil for a
// blob too large to cache: the caller streams it from disk.
func (c *cache) get(b *blob) ([]byte, error) {
	if r := b.data.Load(); r != nil {
		if r.clock.Load()&clockUsed == 0 {
			r.clock.Or(clockUsed)
		}
		return r.data, nil
	}
	if b.size() > c.max/8 {
		return nil, nil
	}
	data, err := c.src.Get(b.sha())
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := b.data.Load(); r != nil {
		return r.data, nil
	}
	if b.refs.Load() == 0 {
		return data, nil // dropped from the node meanwhile: see drop
	}
	size := int64(len(data))
	for c.used+size > c.max && len(c.ring) > 0 {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		v := c.ring[c.hand]
		if r := v.data.Load(); r.clock.Load()&clockUsed != 0 {
			r.clock.And(^uint32(clockUsed))
			c.hand++
			continue
		}
		c.evictLocked(v)
	}
	r := &resident{data: data}
	r.setSlot(len(c.ring))
	b.formatETag(&r.etag)
	c.ring = append(c.ring, b)
	b.data.Store(r)
	c.used += size
	return data, nil
}

// evictLocked drops v's bytes; the caller holds c.mu. The ring's last
// blob takes v's place.
func (c *cache) evictLocked(v *blob) {
	r := v.data.Load()
	if r == nil {
		return
	}
	i, last := r.slot(), len(c.ring)-1
	if w := c.ring[last]; w != v {
		c.ring[i] = w
		w.data.Load().setSlot(i)
	}
	c.ring[last] = nil
	c.ring = c.ring[:last]
	v.data.Store(nil)
	c.used -= int64(len(r.data))
}

// drop forgets a blob no active release uses any more: the caller has
// brought v.refs to zero. A get that read v from disk before that and
// takes c.mu after drop sees refs at zero and leaves v out of the cache
// (it serves the bytes it read); one that took c.mu before made v
// resident, and drop evicts it. Either way v stays out of the cache, and
// a request still holding v serves its bytes from disk, with its ETag
// formatted from its name (etag), never another blob's.
func (c *cache) drop(v *blob) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evictLocked(v)
}

// stats returns the bytes and blobs held.
func (c *cache) stats() (int64, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used, len(c.ring)
}
