package node

import (
	"sync"
	"sync/atomic"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

// blob is one blob a node may serve. Its bytes sit in memory while the
// cache holds them; a hit is one atomic load. It is one allocation of 96
// bytes, its name kept once, as its ETag: a node of 10,000 sites holds
// hundreds of thousands.
type blob struct {
	data atomic.Pointer[[]byte]
	size int64
	slot int32       // index in cache.ring, -1 when not resident, -2 once dropped; guarded by cache.mu
	refs int32       // entries of active releases that serve it; guarded by Node.mu
	ref  atomic.Bool // used since the clock hand last passed
	// etag is `"<sha256>"`: the ETag of a response of these bytes, and
	// (inside the quotes) the blob's name in the store.
	etag [1 + 64 + 1]byte
}

// newBlob returns the blob named sha (64 hex digits) of size bytes.
func newBlob(sha string, size int64) *blob {
	b := &blob{size: size, slot: -1}
	b.etag[0] = '"'
	copy(b.etag[1:65], sha)
	b.etag[65] = '"'
	return b
}

// sha returns the blob's name (a new string: for reads from the store,
// which a cache hit never makes).
func (b *blob) sha() string { return string(b.etag[1:65]) }

// key returns the blob's key in Node.blobs (see blobKey): its name was
// checked when the blob was made, so only the first 16 digits are read.
func (b *blob) key() (k uint64) {
	for _, c := range b.etag[1:17] {
		k = k<<4 | uint64(orchard.HexDigit(c))
	}
	return k
}

// is reports whether the blob is named sha.
func (b *blob) is(sha string) bool { return string(b.etag[1:65]) == sha }

// blobKey returns the key of a blob name (64 lower-case hex digits) in
// Node.blobs: its first 64 bits, which a map holds in 16-byte slots
// where the whole name took 40 (at hundreds of thousands of blobs, a
// kilobyte a site). Two names that share them are told apart by
// comparing the names (blob.is); ok is false for anything but a name.
func blobKey(sha string) (k uint64, ok bool) {
	if len(sha) != 64 {
		return 0, false
	}
	for i := range len(sha) {
		d := orchard.HexDigit(sha[i])
		if d > 15 {
			return 0, false
		}
		if i < 16 {
			k = k<<4 | uint64(d)
		}
	}
	return k, true
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
	if p := b.data.Load(); p != nil {
		if !b.ref.Load() {
			b.ref.Store(true)
		}
		return *p, nil
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
	if p := b.data.Load(); p != nil || b.slot == -2 {
		if p != nil {
			return *p, nil
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
	b.data.Store(&data)
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
	if p := v.data.Swap(nil); p != nil {
		c.used -= int64(len(*p))
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
