package release_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/orchardhq/orchard/release"
)

// TestBlobsSize: Size gives the stored size of a packed blob, a packed one
// not yet synced, and a loose one, as Open does; a missing blob is
// fs.ErrNotExist and a bad name ErrInvalidHash.
func TestBlobsSize(t *testing.T) {
	b := openBlobs(t, t.TempDir())
	packed := func(data string) string {
		sum := sha256.Sum256([]byte(data))
		sha := hex.EncodeToString(sum[:])
		if err := b.PutVerifiedNoSync(sha, strings.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
		return sha
	}
	synced := packed("packed and synced")
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	unsynced := packed("packed, not yet synced: a longer one")
	loose, err := b.Put(context.Background(), bytes.Repeat([]byte("loose "), 100))
	if err != nil {
		t.Fatal(err)
	}
	for _, sha := range []string{synced, unsynced, loose} {
		r, err := b.Open(sha)
		if err != nil {
			t.Fatal(err)
		}
		want := r.Size()
		r.Close()
		if got, err := b.Size(sha); err != nil || got != want {
			t.Errorf("Size(%s) = %d, %v; Open reads %d bytes", sha[:8], got, err, want)
		}
	}
	if _, err := b.Size(strings.Repeat("0", 64)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Size(missing) = %v, want fs.ErrNotExist", err)
	}
	if _, err := b.Size("../x"); !errors.Is(err, release.ErrInvalidHash) {
		t.Errorf("Size(bad name) = %v, want ErrInvalidHash", err)
	}
}
