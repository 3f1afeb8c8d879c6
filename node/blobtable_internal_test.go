package node

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// keyedBlob returns a new blob whose key is k; tag tells apart blobs of
// one key (their names differ after the key's 8 bytes).
func keyedBlob(k uint64, tag byte) *blob {
	var name blobName
	binary.BigEndian.PutUint64(name[:8], k)
	name[31] = tag
	return newBlob(name, 1)
}

// checkTable fails the test unless t holds exactly the blobs of want,
// with slots a power of two at most 3/4 full.
func checkTable(tb testing.TB, t *blobTable, want map[uint64]*blob) {
	tb.Helper()
	if t.len() != len(want) {
		tb.Fatalf("table holds %d blobs, want %d", t.len(), len(want))
	}
	if s := len(t.slots); s&(s-1) != 0 || t.len()*4 > s*3 {
		tb.Fatalf("%d blobs in %d slots: want a power of two at most 3/4 full", t.len(), s)
	}
	held := 0
	for _, b := range t.slots {
		if b != nil {
			held++
			if want[b.key()] != b {
				tb.Fatalf("table holds a blob of key %x it should not", b.key())
			}
		}
	}
	if held != len(want) {
		tb.Fatalf("%d slots used, want %d", held, len(want))
	}
	for k, b := range want {
		if got := t.get(k); got != b {
			tb.Fatalf("get(%x) = %p, want %p", k, got, b)
		}
	}
}

// TestBlobTable_Model: random adds, removes and lookups agree with a map
// that does what Node.refBlobLocked did with one (add only to a free key,
// remove only the blob held), across growth and for keys that crowd the
// same slots.
func TestBlobTable_Model(t *testing.T) {
	keySets := map[string]func(r *rand.Rand) uint64{
		"Random": func(r *rand.Rand) uint64 { return r.Uint64() },
		// Few keys: adds often find theirs taken.
		"Few": func(r *rand.Rand) uint64 { return r.Uint64N(40) },
		// Keys alike in their low 32 bits, or in all but their top 4.
		"SameLowBits": func(r *rand.Rand) uint64 { return r.Uint64N(1<<12)<<32 | 0xdeadbeef },
		"SameButTop":  func(r *rand.Rand) uint64 { return r.Uint64N(16) << 60 },
	}
	for name, key := range keySets {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(len(name))))
			var tab blobTable
			want := map[uint64]*blob{}
			var live []*blob // every blob added, some removed since
			for op := range 20000 {
				switch {
				case r.IntN(3) > 0 || len(live) == 0: // add, two times in three: the table grows
					b := keyedBlob(key(r), byte(op))
					_, taken := want[b.key()]
					if added := tab.add(b); added == taken {
						t.Fatalf("add of key %x: %v, want %v", b.key(), added, !taken)
					}
					if !taken {
						want[b.key()] = b
					}
					live = append(live, b)
				default: // remove a blob added before, held or not
					i := r.IntN(len(live))
					b := live[i]
					live[i] = live[len(live)-1]
					live = live[:len(live)-1]
					isHeld := want[b.key()] == b
					if removed := tab.remove(b); removed != isHeld {
						t.Fatalf("remove of key %x: %v, want %v", b.key(), removed, isHeld)
					}
					if isHeld {
						delete(want, b.key())
					}
				}
				if k := key(r); tab.get(k) != want[k] {
					t.Fatalf("get(%x) = %p, want %p", k, tab.get(k), want[k])
				}
				if op%997 == 0 {
					checkTable(t, &tab, want)
				}
			}
			checkTable(t, &tab, want)
			for _, b := range live {
				tab.remove(b)
			}
			checkTable(t, &tab, map[uint64]*blob{})
		})
	}
}

// TestBlobTable_OneHome: blobs whose keys all start their probe at one
// slot are each found, whichever of them is removed, including runs that
// wrap past the table's last slot.
func TestBlobTable_OneHome(t *testing.T) {
	for _, home := range []int{0, 5, 62, 63} {
		var tab blobTable
		for range 40 { // 40 of 64 slots: the table stays at 64
			tab.add(keyedBlob(rand.Uint64(), 0))
		}
		if len(tab.slots) != 64 {
			t.Fatalf("%d slots, want 64", len(tab.slots))
		}
		// Empty it, keeping its slots and seed, and fill it with keys
		// of one home.
		var added []*blob
		for _, b := range tab.slots {
			if b != nil {
				added = append(added, b)
			}
		}
		for _, b := range added {
			tab.remove(b)
		}
		want := map[uint64]*blob{}
		var order []*blob
		for len(order) < 12 {
			k := rand.Uint64()
			if tab.home(k) != home {
				continue
			}
			b := keyedBlob(k, 0)
			tab.add(b)
			want[k] = b
			order = append(order, b)
		}
		checkTable(t, &tab, want)
		for _, i := range rand.Perm(len(order)) {
			b := order[i]
			if !tab.remove(b) {
				t.Fatalf("home %d: blob %d not removed", home, i)
			}
			delete(want, b.key())
			checkTable(t, &tab, want)
		}
	}
}

// TestBlobTable_KeyTaken: a blob whose key another holds is not added,
// and removing it leaves the other.
func TestBlobTable_KeyTaken(t *testing.T) {
	var tab blobTable
	a, b := keyedBlob(7, 1), keyedBlob(7, 2)
	if !tab.add(a) || tab.add(b) {
		t.Fatal("want the first blob added and the second refused")
	}
	if tab.remove(b) || tab.get(7) != a {
		t.Fatal("removing the refused blob removed the one held")
	}
	if !tab.remove(a) || tab.get(7) != nil || tab.len() != 0 {
		t.Fatal("the held blob was not removed")
	}
}
