package node

import "math/rand/v2"

// blobTable holds blobs by key (blob.key), at most one a key: a hash
// table of pointers alone, with linear probing, whose slots take 8 bytes
// where a map[uint64]*blob takes 16 and a control byte (a node holds
// hundreds of thousands of blobs). A slot's key is read from its blob.
// The zero value is an empty table. It never shrinks, as a map does not.
type blobTable struct {
	slots []*blob // nil for an empty slot; none or a power of two
	n     int     // blobs held
	// seed is mixed into every key: blob names are chosen by whoever
	// publishes, who could otherwise pick names whose keys crowd a few
	// slots and make each lookup walk all of them.
	seed uint64
}

// len returns the number of blobs held.
func (t *blobTable) len() int { return t.n }

// get returns the blob held under key k, nil when none is.
func (t *blobTable) get(k uint64) *blob {
	if t.n == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := t.home(k); ; i = (i + 1) & mask {
		if b := t.slots[i]; b == nil || b.key() == k {
			return b
		}
	}
}

// add holds b unless another blob is held under its key; it reports
// whether b was added.
func (t *blobTable) add(b *blob) bool {
	if t.get(b.key()) != nil {
		return false
	}
	if (t.n+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	t.place(b)
	t.n++
	return true
}

// remove drops b if it is the blob held under its key, and reports
// whether it was. The blobs after it in its run move back into the gap
// (no tombstones), so lookups never walk past slots that held blobs.
func (t *blobTable) remove(b *blob) bool {
	if t.n == 0 {
		return false
	}
	mask := len(t.slots) - 1
	i := t.home(b.key())
	for t.slots[i] != b {
		if t.slots[i] == nil {
			return false
		}
		i = (i + 1) & mask
	}
	t.slots[i] = nil
	t.n--
	// Each blob of the run after the gap stays unless the gap lies
	// between its home and its slot: then it moves into the gap, which
	// moves to where it was.
	for j := (i + 1) & mask; t.slots[j] != nil; j = (j + 1) & mask {
		if home := t.home(t.slots[j].key()); (j-home)&mask >= (j-i)&mask {
			t.slots[i], t.slots[j] = t.slots[j], nil
			i = j
		}
	}
	return true
}

// place puts b in the first empty slot from its home; there is one, the
// table being at most 3/4 full.
func (t *blobTable) place(b *blob) {
	mask := len(t.slots) - 1
	i := t.home(b.key())
	for t.slots[i] != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = b
}

// grow doubles the slots (8 at first) and places every blob anew, under
// a new seed.
func (t *blobTable) grow() {
	old := t.slots
	t.slots = make([]*blob, max(8, 2*len(old)))
	t.seed = rand.Uint64()
	for _, b := range old {
		if b != nil {
			t.place(b)
		}
	}
}

// home returns the slot where a probe for key k starts.
func (t *blobTable) home(k uint64) int {
	// The finalizer of MurmurHash3: every bit of the seeded key moves
	// every bit of the slot's index.
	h := k ^ t.seed
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return int(h) & (len(t.slots) - 1)
}
