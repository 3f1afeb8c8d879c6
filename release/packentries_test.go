package release_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// idxEntries returns how many blobs each idx file under dir names, from
// its size (header 24 bytes, 48 a blob, checksum 32).
func idxEntries(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, name := range packFiles(t, dir) {
		if strings.HasSuffix(name, ".idx") {
			out[name] = (fileSize(t, filepath.Join(dir, "blobs", "packs", name)) - 24 - 32) / 48
		}
	}
	return out
}

// TestPackEntriesBound: a pack holds at most PackEntries blobs, so the
// idx a Sync rewrites stays that small however many blobs the store
// holds (before, one pack took blobs up to 256 MiB, and every Sync of a
// node holding 10,000 small sites rewrote, checksummed and fsynced an
// idx of tens of thousands of entries). Every blob is still found, and
// after a reopen.
func TestPackEntriesBound(t *testing.T) {
	dir := t.TempDir()
	b := openBlobs(t, dir)
	b.PackEntries = 16
	var all [][]byte
	for i := range 200 {
		all = append(all, blobData("bound", i))
		putAll(t, b, all[i])
		if i%7 == 6 {
			mustSync(t, b)
		}
	}
	mustSync(t, b)
	wantBlobs(t, b, all, nil)
	counts := idxEntries(t, dir)
	if len(counts) < 200/16 {
		t.Fatalf("%d packs for 200 blobs of at most 16 each", len(counts))
	}
	for name, n := range counts {
		if n > 16 {
			t.Errorf("%s names %d blobs, want at most 16", name, n)
		}
	}
	b.Close()
	wantBlobs(t, openBlobs(t, dir), all, nil)
}

// TestPackReuseAfterOtherStore: a store that read the packs when it
// opened, and takes the newest one over only after another store
// appended to it and synced, reads its idx again: it neither writes over
// the other store's records nor loses them.
func TestPackReuseAfterOtherStore(t *testing.T) {
	dir := t.TempDir()
	first := openBlobs(t, dir)
	seed := []byte("seed blob")
	putAll(t, first, seed)
	mustSync(t, first)
	first.Close()

	a := openBlobs(t, dir) // knows the pack as it is now
	b := openBlobs(t, dir)
	var fromB [][]byte
	for i := range 5 {
		fromB = append(fromB, blobData("from b", i))
	}
	putAll(t, b, fromB...) // b takes the pack over and appends
	mustSync(t, b)
	b.Close()

	fromA := [][]byte{[]byte("from a")}
	putAll(t, a, fromA...) // a takes the pack over now
	mustSync(t, a)
	a.Close()
	if got := packFiles(t, dir); len(got) != 2 {
		t.Fatalf("packs dir holds %v, want the one pack both took over", got)
	}
	all := append(append([][]byte{seed}, fromB...), fromA...)
	wantBlobs(t, openBlobs(t, dir), all, nil)
}

// TestPackReuseRoom: a short-lived store takes over the newest pack only
// while it holds fewer than half of PackEntries blobs.
func TestPackReuseRoom(t *testing.T) {
	dir := t.TempDir()
	for round := range 4 {
		b := openBlobs(t, dir)
		b.PackEntries = 16
		for i := range 5 {
			putAll(t, b, blobData(fmt.Sprint("round ", round), i))
		}
		mustSync(t, b)
		b.Close()
	}
	// 5 blobs, then 10 (taken over), then a new pack: 5, then 10.
	got := idxEntries(t, dir)
	if len(got) != 2 || got["000000.idx"] != 10 || got["000001.idx"] != 10 {
		t.Fatalf("idx files name %v blobs, want two packs of 10", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs", "packs", "000001.pack")); err != nil {
		t.Fatal(err)
	}
}
