package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// lazyStore is a blob store under dir of several packs (8 blobs each)
// whose idx files are an hour old, as on a store written a while ago.
type lazyStore struct {
	t     *testing.T
	dir   string
	blobs [][]byte
}

func newLazyStore(t *testing.T, n int) *lazyStore {
	t.Helper()
	s := &lazyStore{t: t, dir: t.TempDir()}
	b := s.open()
	b.PackEntries = 8
	s.put(b, "old", n)
	b.Close()
	s.age()
	return s
}

func (s *lazyStore) open() *Blobs {
	s.t.Helper()
	b, err := OpenBlobsLogger(s.dir, slog.New(slog.DiscardHandler))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { b.Close() })
	return b
}

// put appends n blobs and syncs them.
func (s *lazyStore) put(b *Blobs, prefix string, n int) {
	s.t.Helper()
	for i := range n {
		data := []byte(fmt.Sprintf("%s blob %d %s", prefix, i, strings.Repeat("x", i)))
		if _, err := b.putNoSync(data); err != nil {
			s.t.Fatal(err)
		}
		s.blobs = append(s.blobs, data)
	}
	if err := b.Sync(); err != nil {
		s.t.Fatal(err)
	}
}

// age makes every idx file an hour old.
func (s *lazyStore) age() {
	s.t.Helper()
	old := time.Now().Add(-time.Hour)
	names, _ := filepath.Glob(filepath.Join(s.dir, "blobs", "packs", "*.idx"))
	for _, n := range names {
		if err := os.Chtimes(n, old, old); err != nil {
			s.t.Fatal(err)
		}
	}
}

func (s *lazyStore) cache() string { return filepath.Join(s.dir, "blobs", "packs", filterCacheFile) }

// lazy counts the packs of b opened through the filter cache.
func lazy(b *Blobs) (lazy, all int) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, p := range b.packs {
		if p.lazy != nil {
			lazy++
		}
	}
	return lazy, len(b.packs)
}

// want checks that b holds every blob put, whole, and no other.
func (s *lazyStore) want(b *Blobs) {
	s.t.Helper()
	for _, d := range s.blobs {
		sum := sha256.Sum256(d)
		sha := hex.EncodeToString(sum[:])
		got, err := b.Get(sha)
		if err != nil || !bytes.Equal(got, d) || !b.Has(sha) {
			s.t.Fatalf("blob %q: Get = %q, %v; Has %v", d, got, err, b.Has(sha))
		}
	}
	for i := range 50 {
		sum := sha256.Sum256([]byte(fmt.Sprint("never stored ", i)))
		if sha := hex.EncodeToString(sum[:]); b.Has(sha) {
			s.t.Fatalf("a blob never stored is found")
		}
	}
	if miss := b.MissingOf(nil); len(miss) != 0 {
		s.t.Fatal(miss)
	}
}

// TestFilterCache_Lazy: a store opened again reads no idx the filter
// cache describes (its packs are opened lazily) and finds every blob,
// and none it does not hold.
func TestFilterCache_Lazy(t *testing.T) {
	s := newLazyStore(t, 60)
	first := s.open() // reads every idx, writes the cache
	if l, _ := lazy(first); l != 0 {
		t.Fatalf("%d packs opened lazily without a cache", l)
	}
	s.want(first)
	first.Close()
	if _, err := os.Stat(s.cache()); err != nil {
		t.Fatalf("no filter cache after an open: %v", err)
	}
	b := s.open()
	if l, all := lazy(b); l != all || all < 60/8 {
		t.Fatalf("%d of %d packs opened lazily, want all", l, all)
	}
	s.want(b)
}

// TestFilterCache_Damaged: a filter cache torn, corrupt, of another
// format or missing costs reading the idx files, never a wrong answer,
// and the next open writes it again.
func TestFilterCache_Damaged(t *testing.T) {
	tests := []struct {
		name   string
		damage func(data []byte) []byte
	}{
		{"Torn", func(data []byte) []byte { return data[:len(data)/2] }},
		{"Corrupt", func(data []byte) []byte { data[len(data)/2] ^= 1; return data }},
		{"OtherFormat", func(data []byte) []byte { data[7] = '9'; return data }},
		{"Empty", func([]byte) []byte { return nil }},
		{"FirstFormat", func(data []byte) []byte { // the SHA-256 of ORCHBF01 in place of the CRC
			body := append([]byte("ORCHBF01"), data[len(filterCacheMagic):len(data)-filterCacheSumBytes]...)
			sum := sha256.Sum256(body)
			return append(body, sum[:]...)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newLazyStore(t, 40)
			s.open().Close()
			data, err := os.ReadFile(s.cache())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(s.cache(), tt.damage(data), 0o644); err != nil {
				t.Fatal(err)
			}
			b := s.open()
			if l, _ := lazy(b); l != 0 {
				t.Fatalf("%d packs opened lazily through a damaged cache", l)
			}
			s.want(b)
			b.Close()
			b = s.open()
			if l, all := lazy(b); l != all {
				t.Fatalf("%d of %d packs opened lazily after the cache was written again", l, all)
			}
			s.want(b)
		})
	}
}

// TestFilterCache_Stale: packs written after the cache (a new pack, and
// one taken over and appended to: its idx replaced) are read whole; the
// others are still opened lazily; every blob is found.
func TestFilterCache_Stale(t *testing.T) {
	s := newLazyStore(t, 43) // the last pack holds 3 of 8: it is taken over
	s.open().Close()
	b := s.open()
	b.PackEntries = 8
	s.put(b, "new", 10)
	s.want(b)
	b.Close()
	b = s.open()
	l, all := lazy(b)
	if l == 0 || l > all-2 {
		t.Fatalf("%d of %d packs opened lazily, want all but the two written after the cache", l, all)
	}
	s.want(b)
}

// TestFilterCache_WriteAndCollect: a store opened lazily appends to the
// pack it takes over and compacts packs (reading their idx whole first),
// and what it leaves is whole after a reopen.
func TestFilterCache_WriteAndCollect(t *testing.T) {
	s := newLazyStore(t, 43)
	s.open().Close()
	b := s.open()
	b.PackEntries, b.Grace = 8, -time.Hour
	s.put(b, "new", 6)
	keep := map[string]bool{}
	var kept [][]byte
	for i, d := range s.blobs {
		if i%5 == 0 {
			sum := sha256.Sum256(d)
			keep[hex.EncodeToString(sum[:])] = true
			kept = append(kept, d)
		}
	}
	if _, err := b.GC(keep); err != nil {
		t.Fatal(err)
	}
	s.blobs = kept
	s.want(b)
	b.Close()
	s.want(s.open())
}

func FuzzParseFilterCache(f *testing.F) {
	es := []packEntry{{sha: sha256.Sum256([]byte("a")), off: 48, size: 10}, {sha: sha256.Sum256([]byte("b")), off: 98, size: 1}}
	sortEntries(es)
	f.Add(encodeFilterCache(map[int]cachedFilter{
		0: {stamp: fileStamp{ino: 7, mtime: 1e18, size: idxHeaderBytes + 2*idxEntryBytes + sha256.Size}, covered: 99, count: 2, filter: newFilter(idxEntries{list: es})},
		3: {stamp: fileStamp{ino: 9, mtime: 2e18, size: idxHeaderBytes + sha256.Size}, covered: 8},
	}))
	f.Add(encodeFilterCache(nil))
	f.Add([]byte(filterCacheMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := parseFilterCache(data)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeFilterCache(recs), data) {
			t.Fatal("accepted filter cache does not encode back to itself")
		}
		again, err := parseFilterCache(encodeFilterCache(recs))
		if err != nil || !maps.EqualFunc(recs, again, func(a, b cachedFilter) bool {
			return a.stamp == b.stamp && a.covered == b.covered && a.count == b.count && len(a.filter) == len(b.filter)
		}) {
			t.Fatalf("round trip changed the records: %v", err)
		}
		for num, r := range recs {
			if len(r.filter) != filterWords(int(r.count)) {
				t.Fatalf("pack %d: a filter of %d words for %d names", num, len(r.filter), r.count)
			}
		}
	})
}

// TestFilterCache_LoadsWhenBusy: a pack opened lazily whose idx answers
// many lookups on disk has its idx mapped (a node warming up looks up
// every blob it holds), not read into the heap, and still finds every
// blob; blobs put after that are found too (the pack written to is read
// whole, and unmapped).
func TestFilterCache_LoadsWhenBusy(t *testing.T) {
	s := newLazyStore(t, 40)
	s.open().Close()
	b := s.open()
	if l, all := lazy(b); l != all {
		t.Fatalf("%d of %d packs opened lazily, want all", l, all)
	}
	for range 4 {
		s.want(b) // 3 lookups of each of the 8 blobs of each pack
	}
	mappedPacks := func() (mapped, withEntries int) {
		b.mu.RLock()
		defer b.mu.RUnlock()
		for _, p := range b.packs {
			if p.lazy != nil && p.lazy.mapped != nil {
				mapped++
			}
			if p.entries.count() > 0 {
				withEntries++
			}
		}
		return mapped, withEntries
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		m, _ := mappedPacks()
		_, all := lazy(b)
		if m == all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d packs mapped after %d lookups each", m, all, 4*3*8)
		}
	}
	if _, e := mappedPacks(); e != 0 {
		t.Errorf("%d mapped packs hold their entries in the heap too", e)
	}
	s.want(b)
	b.PackEntries = 8
	s.put(b, "new", 12)
	s.want(b)
}

// TestFilterCache_ReadAgain: a pack opened lazily whose idx another
// process rewrites (it appended to the pack) is read again by the next
// scan: its entries are the new idx's, mapped, and the mapping of the old
// idx is released, not left behind for the life of the process.
func TestFilterCache_ReadAgain(t *testing.T) {
	s := newLazyStore(t, 35) // the newest pack holds 3 of 8: another process may append to it
	s.open().Close()
	a := s.open()
	newest := func() *pack {
		a.mu.RLock()
		defer a.mu.RUnlock()
		var p *pack
		for _, q := range a.packs {
			if p == nil || q.num > p.num {
				p = q
			}
		}
		return p
	}
	p := newest()
	if p.lazy == nil {
		t.Fatal("the newest pack was not opened lazily")
	}
	a.mu.Lock()
	err := p.lazy.mapIdx()
	a.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	old := p.lazy
	other := s.open()
	other.PackEntries = 8
	s.put(other, "more", 2) // appended to the newest pack, its idx rewritten
	if err := a.scan(false); err != nil {
		t.Fatal(err)
	}
	if newest() != p {
		t.Fatal("the newest pack is another one: the test put its blobs elsewhere")
	}
	a.mu.RLock()
	lazyNow, oldMapped, mapped, count := p.lazy, old.mapped, p.entries.mapped != nil, p.entries.count()
	a.mu.RUnlock()
	if lazyNow != nil || count != 5 || !mapped {
		t.Fatalf("after the scan: lazy %v, %d entries (mapped %v); want the new idx's 5, mapped", lazyNow != nil, count, mapped)
	}
	if oldMapped != nil {
		t.Error("the mapping of the old idx was not released")
	}
	s.want(a)
}

// TestFilterCache_GrowingPack: a pack that is not full and was appended to
// a minute ago (a publish's blobs) does not make the next Open rewrite the
// filter cache (after the one that drops its stale record); once it has
// been quiet for filterCacheQuiet, it joins it again.
func TestFilterCache_GrowingPack(t *testing.T) {
	s := newLazyStore(t, 43) // five packs of 8 and one of 3
	s.open().Close()
	backdate := func(d time.Duration) {
		t.Helper()
		names, _ := filepath.Glob(filepath.Join(s.dir, "blobs", "packs", "*.idx"))
		for _, n := range names {
			if fi, err := os.Stat(n); err == nil && time.Since(fi.ModTime()) < d {
				at := time.Now().Add(-d)
				if err := os.Chtimes(n, at, at); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	publish := func(prefix string) {
		t.Helper()
		b := s.open()
		b.PackEntries = 8
		s.put(b, prefix, 2) // into the pack that is not full
		b.Close()
		backdate(time.Minute)
	}
	publish("first")
	s.open().Close() // drops the record of the pack that grew
	before, err := os.ReadFile(s.cache())
	if err != nil {
		t.Fatal(err)
	}
	publish("second")
	s.open().Close()
	if after, _ := os.ReadFile(s.cache()); !bytes.Equal(after, before) {
		t.Error("an Open rewrote the filter cache for a pack appended to a minute ago")
	}
	backdate(filterCacheQuiet + time.Minute)
	s.open().Close()
	if after, _ := os.ReadFile(s.cache()); bytes.Equal(after, before) {
		t.Error("a pack quiet for longer than filterCacheQuiet stays out of the filter cache")
	}
	s.want(s.open())
}

// TestFilterCache_Mapped: a filter cache mapped (as a large one is) gives
// the records and filters a read one gives, and they hold every blob.
func TestFilterCache_Mapped(t *testing.T) {
	s := newLazyStore(t, 60)
	s.open().Close() // writes the cache
	read := readFilterCacheFile(s.cache(), 1<<40)
	mapped := readFilterCacheFile(s.cache(), 0)
	if len(read) < 60/8 || len(mapped) != len(read) {
		t.Fatalf("%d records read, %d mapped; want the same, at least %d", len(read), len(mapped), 60/8)
	}
	for num, r := range read {
		m := mapped[num]
		if m.stamp != r.stamp || m.covered != r.covered || m.count != r.count || !slices.Equal(m.filter, r.filter) {
			t.Fatalf("pack %d: mapped record %+v, read %+v", num, m, r)
		}
	}
	for _, d := range s.blobs {
		k := sha256.Sum256(d)
		found := false
		for _, r := range mapped {
			found = found || r.filter.mayHold(k)
		}
		if !found {
			t.Fatalf("no mapped filter holds blob %q", d)
		}
	}
	// A damaged cache mapped is refused (and unmapped), as one read is.
	data, err := os.ReadFile(s.cache())
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(s.cache(), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if recs := readFilterCacheFile(s.cache(), 0); recs != nil {
		t.Fatalf("a damaged cache mapped gave %d records", len(recs))
	}
}

// TestFilterOf: the words of an aligned buffer are used in place, those of
// an unaligned one copied; both read little-endian.
func TestFilterOf(t *testing.T) {
	buf := make([]byte, 8*3+1)
	want := filter{1, 0x0102030405060708, 1 << 63}
	for i, w := range want {
		binary.LittleEndian.PutUint64(buf[8*i:], w)
	}
	aligned := filterOf(buf[:24])
	if !slices.Equal(aligned, want) {
		t.Fatalf("aligned: %x, want %x", aligned, want)
	}
	if littleEndian && unsafe.Pointer(&aligned[0]) != unsafe.Pointer(&buf[0]) {
		t.Errorf("aligned words were copied on a little-endian machine")
	}
	copy(buf[1:], buf[:24])
	if got := filterOf(buf[1:25]); !slices.Equal(got, want) {
		t.Fatalf("unaligned: %x, want %x", got, want)
	}
	if filterOf(nil) != nil {
		t.Fatal("no bytes made a filter")
	}
}
