package node

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"

	"github.com/orchardhq/orchard/release"
)

// testBlob returns a new blob named sha, which must be a blob name.
func testBlob(tb testing.TB, sha string, size int64) *blob {
	tb.Helper()
	name, ok := parseBlobName(sha)
	if !ok {
		tb.Fatalf("%q is not a blob name", sha)
	}
	return newBlob(name, size)
}

// TestBlobSize: a blob fits the 64-byte size class; a node holds
// hundreds of thousands (one more byte is 16 more a blob).
func TestBlobSize(t *testing.T) {
	if size := unsafe.Sizeof(blob{}); size > 64 {
		t.Fatalf("a blob takes %d bytes, want at most 64", size)
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
	b := testBlob(t, sha, int64(len(data)))
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
