package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

// testBlob returns a new blob named sha, which must be a blob name.
func testBlob(tb testing.TB, sha string, size uint32) *blob {
	tb.Helper()
	name, ok := parseBlobName(sha)
	if !ok {
		tb.Fatalf("%q is not a blob name", sha)
	}
	return newBlob(name, size)
}

// TestBlobSize: a blob fits the 48-byte size class; a node holds
// hundreds of thousands (one more byte is 16 more a blob). A resident
// copy fits the 96-byte class (one more byte is 16 more a cached blob).
func TestBlobSize(t *testing.T) {
	if size := unsafe.Sizeof(blob{}); size > 48 {
		t.Fatalf("a blob takes %d bytes, want at most 48", size)
	}
	if size := unsafe.Sizeof(resident{}); size > 96 {
		t.Fatalf("a resident copy takes %d bytes, want at most 96", size)
	}
}

// TestBlobName: a blob gives back the name it was made from, in hex and
// as its quoted ETag, and its key is the name's first 16 hex digits.
func TestBlobName(t *testing.T) {
	for _, sha := range []string{
		strings.Repeat("0", 64),
		strings.Repeat("f", 64),
		"0123456789abcdef" + strings.Repeat("fedcba9876543210", 3),
	} {
		b := testBlob(t, sha, 1)
		if got := b.sha(); got != sha {
			t.Errorf("sha() = %s, want %s", got, sha)
		}
		var tag [etagLen]byte
		if got := string(b.etag(&tag)); got != `"`+sha+`"` {
			t.Errorf("etag() = %s, want %q", got, sha)
		}
		var want uint64
		for _, c := range sha[:16] {
			want = want<<4 | uint64(strings.IndexRune("0123456789abcdef", c))
		}
		if b.key() != want {
			t.Errorf("key() of %s = %x, want %x", sha, b.key(), want)
		}
	}
}

// TestParseBlobName_Refuses: only 64 lower-case hex digits name a blob,
// as in the store.
func TestParseBlobName_Refuses(t *testing.T) {
	for _, sha := range []string{
		"",
		strings.Repeat("a", 63),
		strings.Repeat("a", 65),
		strings.Repeat("A", 64),
		strings.Repeat("a", 63) + "g",
		"../" + strings.Repeat("a", 61),
	} {
		if _, ok := parseBlobName(sha); ok {
			t.Errorf("parseBlobName(%q) accepted it", sha)
		}
	}
}

// TestBlobName_PutHex: a name's hex is encoding/hex's, for every byte
// value in every position.
func TestBlobName_PutHex(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 256 + 1000 {
		var name blobName
		for j := range name {
			name[j] = byte(i + j) // the first 256: each value everywhere
			if i >= 256 {
				name[j] = byte(r.Uint32())
			}
		}
		var got [64]byte
		name.putHex(&got)
		if want := hex.EncodeToString(name[:]); string(got[:]) != want {
			t.Fatalf("putHex = %s, want %s", got, want)
		}
	}
}

// TestBlobETag_Resident: once the cache holds a blob's bytes, its ETag is
// the one formatted with them (no formatting per hit), and the same as
// before.
func TestBlobETag_Resident(t *testing.T) {
	blobs, err := release.OpenBlobs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	data := []byte("<p>a page</p>")
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if err := blobs.PutVerifiedNoSync(sha, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	b := testBlob(t, sha, uint32(len(data)))
	b.refs.Store(1) // a release serves it: the cache may hold it
	var tag [etagLen]byte
	before := string(b.etag(&tag))
	c := &cache{max: 1 << 20, src: blobs}
	if got, err := c.get(b); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get = %q, %v; want %q", got, err, data)
	}
	var unused [etagLen]byte
	after := b.etag(&unused)
	if string(after) != before || before != `"`+sha+`"` {
		t.Fatalf("ETag %s before the cache held the blob, %s after; want %q", before, after, sha)
	}
	if &after[0] == &unused[0] || unused != [etagLen]byte{} {
		t.Fatal("the ETag of a resident blob was formatted again, not taken from its resident copy")
	}
}

// storedBlobs returns a store holding count blobs of size bytes each,
// all different, and their bytes by name.
func storedBlobs(tb testing.TB, count, size int) (*release.Blobs, map[string][]byte) {
	tb.Helper()
	blobs, err := release.OpenBlobs(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { blobs.Close() })
	held := map[string][]byte{}
	for i := range count {
		data := bytes.Repeat([]byte{byte('a' + i%26)}, size)
		copy(data, []byte{byte(i), byte(i >> 8)})
		sum := sha256.Sum256(data)
		sha := hex.EncodeToString(sum[:])
		if err := blobs.PutVerifiedNoSync(sha, bytes.NewReader(data), int64(len(data))); err != nil {
			tb.Fatal(err)
		}
		held[sha] = data
	}
	return blobs, held
}

// checkRing: every blob in c's ring is resident and knows its place there,
// and c counts the bytes of their resident copies, within its bound.
func checkRing(tb testing.TB, c *cache) {
	tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var used int64
	for i, b := range c.ring {
		r := b.data.Load()
		if r == nil {
			tb.Fatalf("ring[%d] is not resident", i)
		}
		if r.slot() != i {
			tb.Fatalf("ring[%d] holds a blob whose slot is %d", i, r.slot())
		}
		used += int64(len(r.data))
	}
	if used != c.used || used > c.max {
		tb.Fatalf("cache counts %d bytes, holds %d, bound %d", c.used, used, c.max)
	}
}

// TestCache_Dropped: once a blob has left the node (its references at
// zero, then dropped), a request still holding it gets its bytes from
// disk and its ETag from its name, and the cache never holds it again,
// even when a get read it from disk before the drop and takes the cache's
// lock after (forced here by holding the lock across the drop).
func TestCache_Dropped(t *testing.T) {
	blobs, held := storedBlobs(t, 1, 100)
	var sha string
	for sha = range held {
	}
	data := held[sha]
	c := &cache{max: 1 << 20, src: blobs}
	b := testBlob(t, sha, uint32(len(data)))
	b.refs.Store(1)
	if got, err := c.get(b); err != nil || !bytes.Equal(got, data) || b.data.Load() == nil {
		t.Fatalf("get = %q, %v, resident %t; want its bytes, resident", got, err, b.data.Load() != nil)
	}
	checkRing(t, c)

	// What Node.refBlobLocked does when the last release using b goes.
	b.refs.Store(0)
	c.drop(b)
	check := func(t *testing.T) {
		t.Helper()
		if b.data.Load() != nil {
			t.Fatal("a dropped blob is resident")
		}
		if used, n := c.stats(); used != 0 || n != 0 {
			t.Fatalf("cache holds %d bytes in %d blobs after the drop, want none", used, n)
		}
		var tag [etagLen]byte
		if got := b.etag(&tag); string(got) != `"`+sha+`"` || &got[0] != &tag[0] {
			t.Fatalf("etag() = %s, want %q formatted from its name", got, sha)
		}
		checkRing(t, c)
	}
	check(t)
	for range 2 {
		if got, err := c.get(b); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("get of a dropped blob = %q, %v; want its bytes", got, err)
		}
		check(t)
	}

	// A get whose locked part comes after a drop: the blob is referenced
	// when the get starts, dropped while the test holds the lock.
	b.refs.Store(1)
	c.mu.Lock()
	done := make(chan []byte)
	go func() {
		got, err := c.get(b)
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	b.refs.Store(0)
	c.evictLocked(b) // drop's work, the lock already held
	c.mu.Unlock()
	if got := <-done; !bytes.Equal(got, data) {
		t.Fatalf("get racing a drop = %q, want its bytes", got)
	}
	check(t)
}

// TestCache_Concurrent: hits, misses, evictions and drops at once (run
// with -race) keep the ring consistent, every get returns the blob's own
// bytes and ETag, and a dropped blob is never resident.
func TestCache_Concurrent(t *testing.T) {
	const size = 100
	blobs, held := storedBlobs(t, 40, size)
	c := &cache{max: 12 * size, src: blobs} // room for 12 of 40
	var all []*blob
	for sha := range held {
		b := testBlob(t, sha, size)
		b.refs.Store(1)
		all = append(all, b)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 3))
			for range 5000 {
				b := all[r.IntN(len(all))]
				var tag [etagLen]byte
				sha := b.sha()
				if got := b.etag(&tag); string(got) != `"`+sha+`"` {
					t.Errorf("etag() = %s, want %q", got, sha)
					return
				}
				got, err := c.get(b)
				if err != nil || !bytes.Equal(got, held[sha]) {
					t.Errorf("get(%s) = %d bytes, %v; want its own", sha, len(got), err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	r := rand.New(rand.NewPCG(7, 8))
	for stop := false; !stop; {
		select {
		case <-done:
			stop = true // one more round after the gets
		default:
		}
		b := all[r.IntN(len(all))]
		if b.refs.Load() == 0 {
			b.refs.Store(1)
			continue
		}
		b.refs.Store(0)
		c.drop(b)
		if b.data.Load() != nil {
			t.Error("a dropped blob is resident")
			<-done
			return
		}
	}
	checkRing(t, c)
	for _, b := range all {
		if b.refs.Load() == 0 && b.data.Load() != nil {
			t.Fatal("a dropped blob is resident")
		}
	}
}

// TestSizedBlob_TooLarge: a file claiming 4 GiB or more (a blob keeps its
// size in 32 bits) is refused with EINVALID naming the file and the size,
// before the store is asked; the largest size a blob holds is accepted.
func TestSizedBlob_TooLarge(t *testing.T) {
	m := &orchard.Manifest{Site: "a.test"}
	sha := strings.Repeat("ab", 32)
	for _, claim := range []int64{maxBlobSize + 1, 1 << 40, math.MaxInt64} {
		asked := false
		reg := func(string) (*blob, error) { asked = true; return testBlob(t, sha, 1), nil }
		_, err := sizedBlob(reg, m, "r1", "/big.iso", sha, claim)
		if orchard.ErrorCode(err) != orchard.EINVALID || asked {
			t.Fatalf("claiming %d bytes: %v, store asked %t; want EINVALID, not asked", claim, err, asked)
		}
		for _, want := range []string{"/big.iso", strconv.FormatInt(claim, 10), "a.test"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("claiming %d bytes: %q does not name %s", claim, err, want)
			}
		}
	}
	b := testBlob(t, sha, math.MaxUint32)
	got, err := sizedBlob(func(string) (*blob, error) { return b, nil }, m, "r1", "/big.iso", sha, maxBlobSize)
	if err != nil || got != b || got.size() != maxBlobSize {
		t.Fatalf("claiming %d bytes of a blob that holds them: %v, %v", maxBlobSize, got, err)
	}
}

// TestBlobLocked_TooLarge: a stored blob of 4 GiB (a sparse file here) is
// refused with EINVALID naming it and its size, whatever a manifest
// claims: never taken with its size cut to 32 bits.
func TestBlobLocked_TooLarge(t *testing.T) {
	n := New(Config{Dir: t.TempDir()})
	if err := n.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	sha := strings.Repeat("cd", 32)
	path := n.Store().Blobs().Path(sha)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, maxBlobSize+1); err != nil {
		t.Fatal(err)
	}
	n.mu.Lock()
	b, err := n.blobLocked(sha, map[string]*blob{})
	n.mu.Unlock()
	if orchard.ErrorCode(err) != orchard.EINVALID || b != nil {
		t.Fatalf("blobLocked of a %d-byte blob = %v, %v; want EINVALID", maxBlobSize+1, b, err)
	}
	for _, want := range []string{sha, strconv.FormatInt(maxBlobSize+1, 10)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not name %s", err, want)
		}
	}
}
