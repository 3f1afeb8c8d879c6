package node

import (
	"encoding/hex"
	"sync"
	"sync/atomic"

	"github.com/orchardhq/orchard/release"
)

// blob is one blob a node may serve. Its bytes sit in memory while the
// cache holds them; a hit is one atomic load. It is one allocation of 64
// bytes, its name kept once, as the 32 bytes of the hash (its ETag is
// formatted when its bytes are read, see etag): a node of 10,000 sites
// holds hundreds of thousands.
type blob struct {
	data atomic.Pointer[resident]
	size int64
	slot int32       // index in cache.ring, -1 when not resident, -2 once dropped; guarded by cache.mu
	refs int32       // entries of active releases that serve it; guarded by Node.mu
	ref  atomic.Bool // used since the clock hand last passed
	name blobName
}

// newBlob returns the blob named name of size bytes.
func newBlob(name blobName, size int64) *blob {
	return &blob{size: size, slot: -1, name: name}
}

// sha returns the blob's name in hex (a new string: for reads from the
// store, which a cache hit never makes).
func (b *blob) sha() string { return hex.EncodeToString(b.name[:]) }

// key returns the blob's key in Node.blobs (see blobName.key).
func (b *blob) key() uint64 { return b.name.key() }

// resident is a cached blob's bytes and the ETag of a response of them:
// formatted once when the bytes are read, so that a cache hit formats
// nothing, and kept only while the bytes are (66 bytes a cached blob,
// where every blob held its ETag before).
type resident struct {
	data []byte
	etag [etagLen]byte
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
// the cache). It returns nil, nil for a blob too large to cache: the caller
// streams it from disk.
func (c *cache) get(b *blob) ([]byte, error) {
	if r := b.data.Load(); r != nil {
		if !b.ref.Load() {
			b.ref.Store(true)
		}
		return r.data, nil
	}
	if b.size > c.max/8 {
		return nil, nil
	}
	data, err := c.src.Get(b.sha())
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := b.data.Load(); r != nil || b.slot == -2 {
		if r != nil {
			return r.data, nil
		}
		return data, nil // dropped from the node meanwhile
	}
	size := int64(len(data))
	for c.used+size > c.max && len(c.ring) > 0 {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		v := c.ring[c.hand]
		if v.ref.Load() {
			v.ref.Store(false)
			c.hand++
			continue
		}
		c.evictLocked(v)
	}
	r := &resident{data: data}
	b.formatETag(&r.etag)
	b.data.Store(r)
	b.slot = int32(len(c.ring))
	c.ring = append(c.ring, b)
	c.used += size
	return data, nil
}

// evictLocked drops v's bytes; the caller holds c.mu.
func (c *cache) evictLocked(v *blob) {
	if v.slot < 0 {
		return
	}
	last := len(c.ring) - 1
	c.ring[v.slot] = c.ring[last]
	c.ring[v.slot].slot = v.slot
	c.ring[last] = nil
	c.ring = c.ring[:last]
	if r := v.data.Swap(nil); r != nil {
		c.used -= int64(len(r.data))
	}
	v.slot = -1
}

// drop forgets a blob no active release uses any more.
func (c *cache) drop(v *blob) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evictLocked(v)
	v.slot = -2
}

// stats returns the bytes and blobs held.
func (c *cache) stats() (int64, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used, len(c.ring)
}
