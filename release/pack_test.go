package release_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/orchardhq/orchard/release"
)

func openBlobs(t testing.TB, dir string) *release.Blobs {
	t.Helper()
	b, err := release.OpenBlobsLogger(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// openStore opens the release store in dir and closes it when the test
// ends.
func openStore(t testing.TB, dir string) *release.Store {
	t.Helper()
	s, err := release.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func blobData(prefix string, i int) []byte {
	return []byte(fmt.Sprintf("%s %d %s", prefix, i, strings.Repeat("x", i%97)))
}

// putAll appends the blobs without fsync.
func putAll(t testing.TB, b *release.Blobs, blobs ...[]byte) {
	t.Helper()
	for _, d := range blobs {
		if err := b.PutVerifiedNoSync(shaOf(d), bytes.NewReader(d), 1<<20); err != nil {
			t.Fatal(err)
		}
	}
}

func mustSync(t testing.TB, b *release.Blobs) {
	t.Helper()
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
}

// wantBlobs checks that every blob of have is stored whole and none of
// lack is visible.
func wantBlobs(t *testing.T, b *release.Blobs, have, lack [][]byte) {
	t.Helper()
	for _, d := range have {
		got, err := b.Get(shaOf(d))
		if err != nil || !bytes.Equal(got, d) || !b.Has(shaOf(d)) {
			t.Fatalf("blob %.20q: Get = %.20q, %v; Has %v", d, got, err, b.Has(shaOf(d)))
		}
		r, err := b.Open(shaOf(d))
		if err != nil {
			t.Fatal(err)
		}
		got, err = io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, d) || r.Size() != int64(len(d)) {
			t.Fatalf("blob %.20q: Open read %.20q, %v", d, got, err)
		}
	}
	var shas []string
	for _, d := range lack {
		if b.Has(shaOf(d)) {
			t.Fatalf("blob %.20q visible, want it missing", d)
		}
		shas = append(shas, shaOf(d))
	}
	for _, d := range have {
		shas = append(shas, shaOf(d))
	}
	if miss := b.MissingOf(shas); len(miss) != len(lack) {
		t.Fatalf("MissingOf: %d missing, want %d", len(miss), len(lack))
	}
}

func packFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "blobs", "packs"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// Blobs written in bulk go to one pack, are readable in process at once,
// visible after Sync, and seen by a store opened afterwards.
func TestPackRoundTrip(t *testing.T) {
	dir := t.TempDir()
	b := openBlobs(t, dir)
	var all [][]byte
	for i := range 500 {
		all = append(all, blobData("round", i))
	}
	putAll(t, b, all...)
	putAll(t, b, all[:10]...) // again: not appended twice
	for _, d := range all[:5] {
		if b.Has(shaOf(d)) {
			t.Fatal("visible before Sync")
		}
		if got, err := b.Get(shaOf(d)); err != nil || !bytes.Equal(got, d) {
			t.Fatalf("in-process Get before Sync = %q, %v", got, err)
		}
	}
	if miss := b.MissingOf([]string{shaOf(all[0])}); len(miss) != 1 {
		t.Fatal("an unsynced blob counts as present for MissingOf")
	}
	mustSync(t, b)
	wantBlobs(t, b, all, nil)
	if got := packFiles(t, dir); !slices.Equal(got, []string{"000000.idx", "000000.pack"}) {
		t.Fatalf("packs dir holds %v", got)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "blobs")); len(ents) != 1 {
		t.Fatalf("blobs dir holds %d entries, want only packs/", len(ents))
	}
	var size int64
	for _, d := range all {
		size += int64(len(d)) + 40
	}
	if got := fileSize(t, filepath.Join(dir, "blobs", "packs", "000000.pack")); got != size+8 {
		t.Fatalf("pack is %d bytes, want %d (each blob once)", got, size+8)
	}
	b.Close()
	b2 := openBlobs(t, dir)
	wantBlobs(t, b2, all, nil)
	if r := b2.Recovered(); len(r) != 0 {
		t.Fatalf("a clean store was repaired: %v", r)
	}
	// Loose blobs (Put, older stores) and packed ones side by side.
	loose := []byte("a loose blob")
	if err := b2.PutVerified(shaOf(loose), bytes.NewReader(loose), 100); err != nil {
		t.Fatal(err)
	}
	wantBlobs(t, b2, append(all[:3:3], loose), nil)
}

// Rolling to new packs past PackBytes; every pack is indexed.
func TestPackRoll(t *testing.T) {
	dir := t.TempDir()
	b := openBlobs(t, dir)
	b.PackBytes = 4096
	var all [][]byte
	for i := range 200 {
		all = append(all, blobData("roll", i))
		putAll(t, b, all[i])
		if i%50 == 49 {
			mustSync(t, b)
		}
	}
	big := bytes.Repeat([]byte("B"), 10000) // larger than a pack: a pack of its own
	putAll(t, b, big)
	mustSync(t, b)
	all = append(all, big)
	files := packFiles(t, dir)
	if len(files) < 10 {
		t.Fatalf("packs dir holds %v, want many packs", files)
	}
	b.Close()
	wantBlobs(t, openBlobs(t, dir), all, nil)
}

// Only synced blobs survive a crash (Close without Sync stands for one).
func TestPackReopenSyncedOnly(t *testing.T) {
	dir := t.TempDir()
	b := openBlobs(t, dir)
	synced := [][]byte{[]byte("synced 1"), []byte("synced 2")}
	lost := [][]byte{[]byte("lost 1"), []byte("lost 2")}
	putAll(t, b, synced...)
	mustSync(t, b)
	putAll(t, b, lost...)
	b.Close()
	b2 := openBlobs(t, dir)
	wantBlobs(t, b2, synced, lost)
	if len(b2.Recovered()) != 1 {
		t.Fatalf("Recovered = %v, want the tail cut", b2.Recovered())
	}
	// The store goes on: the lost blobs can be written again.
	putAll(t, b2, lost...)
	mustSync(t, b2)
	b2.Close()
	wantBlobs(t, openBlobs(t, dir), append(synced, lost...), nil)
}

// A pack damaged at any point opens cleanly, holding whole blobs only.
func TestPackTorn(t *testing.T) {
	synced := [][]byte{[]byte("first blob"), []byte("second blob")}
	unsynced := [][]byte{bytes.Repeat([]byte("u"), 1000)}
	pack := filepath.Join("blobs", "packs", "000000.pack")
	idx := filepath.Join("blobs", "packs", "000000.idx")
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string, covered int64)
		kept   bool // the synced blobs survive
	}{
		{"TornRecord", func(t *testing.T, dir string, covered int64) {
			if err := os.Truncate(filepath.Join(dir, pack), covered+50); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"TornHeader", func(t *testing.T, dir string, covered int64) {
			if err := os.Truncate(filepath.Join(dir, pack), covered+7); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"GarbageAppended", func(t *testing.T, dir string, covered int64) {
			f, err := os.OpenFile(filepath.Join(dir, pack), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(bytes.Repeat([]byte{0xff, 0, 0x13}, 500))
			f.Close()
		}, true},
		{"IdxMissing", func(t *testing.T, dir string, covered int64) {
			os.Remove(filepath.Join(dir, idx))
		}, false},
		{"IdxCorrupt", func(t *testing.T, dir string, covered int64) {
			data, _ := os.ReadFile(filepath.Join(dir, idx))
			data[40] ^= 1
			os.WriteFile(filepath.Join(dir, idx), data, 0o644)
		}, false},
		{"IdxTruncated", func(t *testing.T, dir string, covered int64) {
			os.Truncate(filepath.Join(dir, idx), 30)
		}, false},
		{"PackShorterThanIdx", func(t *testing.T, dir string, covered int64) {
			os.Truncate(filepath.Join(dir, pack), covered-3)
		}, false},
		{"PackMissing", func(t *testing.T, dir string, covered int64) {
			os.Remove(filepath.Join(dir, pack))
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			b := openBlobs(t, dir)
			putAll(t, b, synced...)
			mustSync(t, b)
			covered := fileSize(t, filepath.Join(dir, pack))
			putAll(t, b, unsynced...)
			b.Close()
			tc.damage(t, dir, covered)
			b2 := openBlobs(t, dir)
			if tc.kept {
				wantBlobs(t, b2, synced, unsynced)
				if got := fileSize(t, filepath.Join(dir, pack)); got != covered {
					t.Fatalf("pack is %d bytes after open, want it cut to %d", got, covered)
				}
			} else {
				wantBlobs(t, b2, nil, append(synced, unsynced...))
				if files := packFiles(t, dir); len(files) != 0 {
					t.Fatalf("untrusted pack left: %v", files)
				}
			}
			// The repaired store takes new blobs and reopens cleanly.
			putAll(t, b2, synced...)
			putAll(t, b2, unsynced...)
			mustSync(t, b2)
			b2.Close()
			b3 := openBlobs(t, dir)
			wantBlobs(t, b3, append(synced, unsynced...), nil)
			if r := b3.Recovered(); len(r) != 0 {
				t.Fatalf("second open repaired again: %v", r)
			}
		})
	}
}

// A pack another open store writes is neither cut nor removed, and its
// blobs show up once that store syncs.
func TestPackTwoStores(t *testing.T) {
	dir := t.TempDir()
	a := openBlobs(t, dir)
	first := []byte("from a, synced")
	putAll(t, a, first)
	mustSync(t, a)
	pending := []byte("from a, pending")
	putAll(t, a, pending)
	b := openBlobs(t, dir) // a still holds its pack
	if len(b.Recovered()) != 0 {
		t.Fatalf("second store repaired a pack in use: %v", b.Recovered())
	}
	wantBlobs(t, b, [][]byte{first}, [][]byte{pending})
	mustSync(t, a)
	wantBlobs(t, b, [][]byte{first, pending}, nil) // found by reading the packs dir again
	fromB := []byte("from b")
	putAll(t, b, fromB)
	mustSync(t, b)
	wantBlobs(t, a, [][]byte{first, pending, fromB}, nil)
	if got := packFiles(t, dir); len(got) != 4 {
		t.Fatalf("packs dir holds %v, want a pack each", got)
	}
}

// Appends, reads and Syncs at once, across pack rolls.
func TestPackConcurrent(t *testing.T) {
	dir := t.TempDir()
	b := openBlobs(t, dir)
	b.PackBytes = 16 << 10
	const writers, each = 4, 150
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				d := blobData(fmt.Sprint("writer ", w%2), i) // two pairs write the same blobs
				if err := b.PutVerifiedNoSync(shaOf(d), bytes.NewReader(d), 1<<20); err != nil {
					t.Error(err)
					return
				}
				if got, err := b.Get(shaOf(d)); err != nil || !bytes.Equal(got, d) {
					t.Errorf("Get after put = %.20q, %v", got, err)
					return
				}
				if i%40 == 0 {
					if err := b.Sync(); err != nil {
						t.Error(err)
						return
					}
					if !b.Has(shaOf(d)) {
						t.Error("not visible after Sync")
						return
					}
				}
			}
		}()
	}
	keep := map[string]bool{}
	for w := range 2 {
		for i := range each {
			keep[shaOf(blobData(fmt.Sprint("writer ", w), i))] = true
		}
	}
	b.Grace = 0
	wg.Add(1)
	go func() { // GC, keeping everything: packs are judged, none goes
		defer wg.Done()
		for range 5 {
			if n, err := b.GC(keep); err != nil || n != 0 {
				t.Errorf("GC = %d, %v; want nothing removed", n, err)
				return
			}
		}
	}()
	wg.Add(1)
	go func() { // a reader of what is visible
		defer wg.Done()
		for i := range each {
			d := blobData("writer 0", i)
			if b.Has(shaOf(d)) {
				if got, err := b.Get(shaOf(d)); err != nil || !bytes.Equal(got, d) {
					t.Errorf("reader: Get = %.20q, %v", got, err)
					return
				}
			}
			b.MissingOf([]string{shaOf(d)})
		}
	}()
	wg.Wait()
	mustSync(t, b)
	var all [][]byte
	for w := range 2 {
		for i := range each {
			all = append(all, blobData(fmt.Sprint("writer ", w), i))
		}
	}
	wantBlobs(t, b, all, nil)
	b.Close()
	wantBlobs(t, openBlobs(t, dir), all, nil)
}

// GC deletes packs nothing refers to, compacts mostly-unreferenced ones,
// keeps referenced and young ones, and lets readers finish.
func TestPackGC(t *testing.T) {
	dir := t.TempDir()
	b := openBlobs(t, dir)
	b.PackBytes = 1 << 10
	gen := func(name string, n int) [][]byte { // one pack's worth of ~200-byte blobs
		var out [][]byte
		for i := range n {
			out = append(out, []byte(fmt.Sprintf("%s %d %s", name, i, strings.Repeat("z", 180))))
		}
		putAll(t, b, out...)
		mustSync(t, b)
		return out
	}
	dead := gen("dead", 4)   // pack 0: nothing kept -> deleted
	mostly := gen("most", 4) // pack 1: one kept -> compacted
	live := gen("live", 4)   // pack 2: all kept -> untouched
	cur := gen("cur", 1)     // pack 3: current, kept
	keep := map[string]bool{shaOf(mostly[0]): true, shaOf(cur[0]): true}
	for _, d := range live {
		keep[shaOf(d)] = true
	}
	if got := packFiles(t, dir); len(got) != 8 {
		t.Fatalf("packs: %v, want 4 packs", got)
	}
	// Young packs are kept whatever keep says.
	if n, err := b.GC(map[string]bool{}); err != nil || n != 0 {
		t.Fatalf("GC of young packs = %d, %v; want nothing removed", n, err)
	}
	r, err := b.Open(shaOf(dead[0])) // a reader in the middle of a response
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b.Grace = 0
	n, err := b.GC(keep)
	if err != nil || n != 7 {
		t.Fatalf("GC = %d, %v; want 7 removed", n, err)
	}
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, dead[0]) {
		t.Fatalf("reader of a deleted pack: %.20q, %v", got, err)
	}
	kept := append([][]byte{mostly[0], cur[0]}, live...)
	gone := append(dead, mostly[1:]...)
	wantBlobs(t, b, kept, gone)
	files := packFiles(t, dir)
	for _, f := range []string{"000000.pack", "000000.idx", "000001.pack", "000001.idx"} {
		if slices.Contains(files, f) {
			t.Fatalf("%s still there after GC: %v", f, files)
		}
	}
	if !slices.Contains(files, "000002.pack") {
		t.Fatalf("the live pack went: %v", files)
	}
	b.Close()
	b2 := openBlobs(t, dir)
	wantBlobs(t, b2, kept, gone)
	if r := b2.Recovered(); len(r) != 0 {
		t.Fatalf("open after GC repaired: %v", r)
	}
	// Unreferenced and never synced: an abandoned stage is forgotten.
	abandoned := []byte("abandoned stage")
	putAll(t, b2, abandoned)
	b2.Grace = 0
	if _, err := b2.GC(keep); err != nil {
		t.Fatal(err)
	}
	mustSync(t, b2)
	wantBlobs(t, b2, kept, [][]byte{abandoned})
}

// Appending 10,000 blobs of 8 KB and syncing once: packs against one loose
// file each (temporary file, rename into its shard, one syncfs), as blobs
// were stored before packs.
func BenchmarkBlobsAppend(b *testing.B) {
	const n = 10000
	blobs := make([][]byte, n)
	shas := make([]string, n)
	for i := range blobs {
		d := bytes.Repeat([]byte{byte(i)}, 8<<10)
		copy(d, fmt.Sprint(i))
		blobs[i], shas[i] = d, shaOf(d)
	}
	b.Run("Packs", func(b *testing.B) {
		b.SetBytes(n * 8 << 10)
		for b.Loop() {
			st := openBlobs(b, b.TempDir())
			for i, d := range blobs {
				if err := st.PutVerifiedNoSync(shas[i], bytes.NewReader(d), 1<<20); err != nil {
					b.Fatal(err)
				}
			}
			mustSync(b, st)
		}
	})
	b.Run("LooseFiles", func(b *testing.B) {
		b.SetBytes(n * 8 << 10)
		for b.Loop() {
			dir := b.TempDir()
			for i, d := range blobs {
				shard := filepath.Join(dir, shas[i][:2])
				if err := os.MkdirAll(shard, 0o755); err != nil {
					b.Fatal(err)
				}
				f, err := os.CreateTemp(dir, ".tmp-*")
				if err != nil {
					b.Fatal(err)
				}
				f.Write(d)
				f.Close()
				if err := os.Rename(f.Name(), filepath.Join(shard, shas[i])); err != nil {
					b.Fatal(err)
				}
			}
			syncfs(b, dir)
		}
	})
}

func syncfs(tb testing.TB, dir string) {
	tb.Helper()
	f, err := os.Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		tb.Fatal(err)
	}
}

// The pack being appended to is collected too once idle; appends go on in
// a new pack.
func TestPackGCCurrent(t *testing.T) {
	dir := t.TempDir()
	b := openBlobs(t, dir)
	old := [][]byte{[]byte("old 1"), []byte("old 2"), []byte("old 3")}
	putAll(t, b, old...)
	mustSync(t, b)
	b.Grace = 0
	if n, err := b.GC(nil); err != nil || n != 3 {
		t.Fatalf("GC = %d, %v; want 3 removed", n, err)
	}
	if files := packFiles(t, dir); len(files) != 0 {
		t.Fatalf("packs left: %v", files)
	}
	fresh := []byte("after GC")
	putAll(t, b, fresh)
	mustSync(t, b)
	wantBlobs(t, b, [][]byte{fresh}, old)
	b.Close()
	wantBlobs(t, openBlobs(t, dir), [][]byte{fresh}, old)
}

// Short-lived processes (a build each) append to the same pack in turn
// rather than leave a small pack each.
func TestPackReuse(t *testing.T) {
	dir := t.TempDir()
	var all [][]byte
	for round := range 5 {
		b := openBlobs(t, dir)
		d := []byte(fmt.Sprint("build ", round))
		putAll(t, b, d)
		all = append(all, d)
		if round%2 == 1 {
			putAll(t, b, []byte("never synced")) // cut at the next open
		} else {
			mustSync(t, b)
		}
		if round%2 == 1 {
			b.Close()
			all = all[:len(all)-1]
			continue
		}
		wantBlobs(t, b, all, nil)
		b.Close()
	}
	if got := packFiles(t, dir); !slices.Equal(got, []string{"000000.idx", "000000.pack"}) {
		t.Fatalf("packs dir holds %v, want one pack", got)
	}
	wantBlobs(t, openBlobs(t, dir), all, [][]byte{[]byte("never synced"), []byte("build 1")})
}

// BenchmarkSyncNearlyFullPack: one publish's Sync (ten small blobs) into a
// pack that already names 8,000: the Sync rewrites the pack's idx whole,
// and its allocations are what a node's garbage collector pays per publish.
func BenchmarkSyncNearlyFullPack(b *testing.B) {
	st := openBlobs(b, b.TempDir())
	for i := range 8000 {
		d := blobData("full", i)
		if err := st.PutVerifiedNoSync(shaOf(d), bytes.NewReader(d), 1<<20); err != nil {
			b.Fatal(err)
		}
	}
	mustSync(b, st)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		for range 10 {
			i++
			d := blobData("publish", i)
			if err := st.PutVerifiedNoSync(shaOf(d), bytes.NewReader(d), 1<<20); err != nil {
				b.Fatal(err)
			}
		}
		mustSync(b, st)
	}
}
