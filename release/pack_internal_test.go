package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
)

// FuzzParseIdx: an idx read from disk never panics the parser, and what it
// accepts encodes back to the same bytes with entries inside the pack,
// each found where the idx lies mapped (idxEntries over its bytes).
func FuzzParseIdx(f *testing.F) {
	a, b := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))
	es := []packEntry{{sha: a, off: 48, size: 10}, {sha: b, off: 98, size: 1}}
	sortEntries(es)
	f.Add(encodeIdx(es, 99))
	f.Add(encodeIdx(nil, 8))
	f.Add([]byte(idxMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		covered, entries, err := parseIdx(data)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeIdx(entries, covered), data) {
			t.Fatal("accepted idx does not encode back to itself")
		}
		view := idxEntries{mapped: data}
		if view.count() != len(entries) {
			t.Fatalf("the idx's bytes hold %d entries, parsed %d", view.count(), len(entries))
		}
		for i, e := range entries {
			if e.off < int64(len(packMagic)+recHeaderBytes) || e.off+e.size > covered {
				t.Fatalf("entry %+v outside a pack of %d bytes", e, covered)
			}
			if got, ok := view.find(e.sha); !ok || got != e || view.at(i) != e {
				t.Fatalf("entry %d: find %+v %v, at %+v; parsed %+v", i, got, ok, view.at(i), e)
			}
		}
	})
}

func TestMergeEntries(t *testing.T) {
	k := func(b byte) [32]byte { return [32]byte{b} }
	old := []packEntry{{sha: k(1), off: 48}, {sha: k(3), off: 60}, {sha: k(5), off: 70}}
	batch := []pendingEntry{{packEntry: packEntry{sha: k(4), off: 80}}, {packEntry: packEntry{sha: k(3), off: 90}}, {packEntry: packEntry{sha: k(0), off: 100}}, {packEntry: packEntry{sha: k(4), off: 110}}}
	_, merged := mergedEntries(idxEntries{list: old}, batch)
	got := slices.Collect(merged)
	var shas []byte
	for _, e := range got {
		shas = append(shas, e.sha[0])
	}
	if !bytes.Equal(shas, []byte{0, 1, 3, 4, 5}) || got[2].off != 60 {
		t.Fatalf("merged %v (%+v)", shas, got)
	}
	if _, _, err := parseIdx(encodeIdx(got, 200)); err != nil {
		t.Fatal(err)
	}
	// The count given before the entries (the idx's header) is theirs,
	// whether old is mapped or a list, and wherever the duplicates are.
	for _, tc := range []struct {
		name  string
		old   []packEntry
		batch []byte
	}{
		{"Empty", nil, nil},
		{"OnlyOld", old, nil},
		{"OnlyBatch", nil, []byte{9, 2, 9}},
		{"AllKnown", old, []byte{5, 1, 3}},
		{"Mixed", old, []byte{0, 5, 2, 2, 6}},
	} {
		var batch []pendingEntry
		for i, b := range tc.batch {
			batch = append(batch, pendingEntry{packEntry: packEntry{sha: k(b), off: int64(200 + i)}})
		}
		for _, view := range []idxEntries{{list: tc.old}, {mapped: encodeIdx(tc.old, 300)}} {
			n, all := mergedEntries(view, batch)
			got := slices.Collect(all)
			if n != len(got) {
				t.Errorf("%s (mapped %v): count %d, %d entries", tc.name, view.mapped != nil, n, len(got))
			}
			data := encodeIdx(got, 300)
			if _, es, err := parseIdx(data); err != nil || len(es) != n {
				t.Errorf("%s: the merged idx parses to %d entries, %v", tc.name, len(es), err)
			}
		}
	}
}

// TestWriteIdxToCount: an idx whose header would not say how many entries
// follow is refused, not written.
func TestWriteIdxToCount(t *testing.T) {
	es := []packEntry{{sha: [32]byte{1}, off: 48, size: 1}, {sha: [32]byte{2}, off: 89, size: 1}}
	for _, n := range []int{1, 3} {
		if err := writeIdxTo(io.Discard, n, 130, slices.Values(es)); err == nil {
			t.Errorf("%d entries written under a header of %d", len(es), n)
		}
	}
	if err := writeIdxTo(io.Discard, 2, 130, slices.Values(es)); err != nil {
		t.Fatal(err)
	}
}

// TestFilter: a pack's filter never says no to a blob of the pack, and
// says maybe to few others.
func TestFilter(t *testing.T) {
	for _, n := range []int{0, 1, 5, 1000, 8192} {
		es := make([]packEntry, n)
		for i := range es {
			es[i].sha = sha256.Sum256([]byte{byte(i), byte(i >> 8), 'x'})
		}
		f := newFilter(idxEntries{list: es})
		for _, e := range es {
			if !f.mayHold(e.sha) {
				t.Fatalf("%d names: the filter says no to a name it was made of", n)
			}
		}
		wrong := 0
		for i := range 10000 {
			if f.mayHold(sha256.Sum256([]byte{byte(i), byte(i >> 8), 'y'})) {
				wrong++
			}
		}
		if wrong > 200 {
			t.Errorf("%d names: the filter says maybe to %d of 10,000 others", n, wrong)
		}
	}
}

// TestSyncForgetsIndex: once Sync has made the blobs appended by this
// process durable, the store's index of its own appends holds none of
// them (its packs' entries name them, as they name every blob another
// process wrote), and each is still found, read and counted present,
// also after blobs are appended to it again and synced in turn. Before,
// the index kept every blob ever appended, a second time beside the
// packs' entries: ~100 bytes a blob, 4.5 KiB per site on a node that
// received 10,000 sites.
func TestSyncForgetsIndex(t *testing.T) {
	b, err := OpenBlobs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.PackEntries = 16 // several packs: a blob is found in the right one
	var shas []string
	put := func(round int) {
		for i := range 20 {
			data := []byte(fmt.Sprintf("blob %d of round %d", i, round))
			sum := sha256.Sum256(data)
			sha := hex.EncodeToString(sum[:])
			if err := b.PutVerifiedNoSync(sha, bytes.NewReader(data), int64(len(data))); err != nil {
				t.Fatal(err)
			}
			shas = append(shas, sha)
		}
	}
	for round := range 3 {
		put(round)
		b.mu.RLock()
		pending := len(b.index)
		b.mu.RUnlock()
		if pending != 20 {
			t.Fatalf("round %d: %d blobs indexed before Sync, want the 20 appended", round, pending)
		}
		if err := b.Sync(); err != nil {
			t.Fatal(err)
		}
		b.mu.RLock()
		left := len(b.index)
		b.mu.RUnlock()
		if left != 0 {
			t.Errorf("round %d: %d blobs still indexed after Sync, want none", round, left)
		}
		if miss := b.MissingOf(shas); len(miss) != 0 {
			t.Fatalf("round %d: %d of %d synced blobs missing", round, len(miss), len(shas))
		}
		for i, sha := range shas {
			got, err := b.Get(sha)
			if want := fmt.Sprintf("blob %d of round %d", i%20, i/20); err != nil || string(got) != want {
				t.Fatalf("round %d: Get(%s) = %q, %v; want %q", round, sha, got, err, want)
			}
		}
	}
}

// TestPackEntriesMapped: the entries of every pack's idx lie in the idx
// file, mapped, not in the heap: those a Sync of this process wrote and
// those of packs a reopened store finds, and blobs are found through them.
func TestPackEntriesMapped(t *testing.T) {
	dir := t.TempDir()
	b, err := OpenBlobs(dir)
	if err != nil {
		t.Fatal(err)
	}
	b.PackEntries = 16 // several packs, the last one not full
	want := map[string]string{}
	for round := range 3 {
		for i := range 20 {
			data := fmt.Sprintf("blob %d of round %d", i, round)
			sum := sha256.Sum256([]byte(data))
			sha := hex.EncodeToString(sum[:])
			if err := b.PutVerifiedNoSync(sha, strings.NewReader(data), int64(len(data))); err != nil {
				t.Fatal(err)
			}
			want[sha] = data
		}
		if err := b.Sync(); err != nil {
			t.Fatal(err)
		}
		checkMapped(t, b, fmt.Sprintf("after Sync %d", round))
	}
	check := func(b *Blobs, when string) {
		t.Helper()
		for sha, data := range want {
			if got, err := b.Get(sha); err != nil || string(got) != data {
				t.Fatalf("%s: Get(%s) = %q, %v; want %q", when, sha, got, err, data)
			}
		}
	}
	check(b, "after the Syncs")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = OpenBlobs(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	checkMapped(t, b, "reopened")
	check(b, "reopened")
}

// checkMapped fails unless every pack of b that its idx names blobs of
// holds them mapped.
func checkMapped(t *testing.T, b *Blobs, when string) {
	t.Helper()
	b.mu.RLock()
	defer b.mu.RUnlock()
	if len(b.packs) < 2 {
		t.Fatalf("%s: %d packs, want several", when, len(b.packs))
	}
	for _, p := range b.packs {
		if p.lazy != nil {
			continue // its idx is read on demand (packfilters.go)
		}
		if p.entries.list != nil || p.entries.mapped == nil {
			t.Errorf("%s: pack %s holds its %d entries in the heap, not mapped", when, p.path, p.entries.count())
		}
	}
}
