package node

import "bytes"

// routeKeys finds a release's files by manifest key: the keys, sorted,
// end to end in one slice (key i ends at ends[i]), found by a binary
// search; the site's entries are in the same order. A map of the keys
// took 60 bytes a file and the key strings 24 more, a third of what a
// node held per site (issue 23: at most 16 KiB a site); this takes the
// key's bytes and 4.
type routeKeys struct {
	keys []byte
	ends []uint32
}

// newRouteKeys returns the keys, which must be sorted and unique.
func newRouteKeys(sorted []string) routeKeys {
	n := 0
	for _, k := range sorted {
		n += len(k)
	}
	r := routeKeys{keys: make([]byte, 0, n), ends: make([]uint32, len(sorted))}
	for i, k := range sorted {
		r.keys = append(r.keys, k...)
		r.ends[i] = uint32(len(r.keys))
	}
	return r
}

// key returns key i.
func (r *routeKeys) key(i int) []byte {
	start := uint32(0)
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.keys[start:r.ends[i]]
}

// len returns the number of keys.
func (r *routeKeys) len() int { return len(r.ends) }

// index returns the index of key k; false when k is not a key.
func (r *routeKeys) index(k []byte) (int, bool) {
	lo, hi := 0, len(r.ends)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		switch c := bytes.Compare(r.key(mid), k); {
		case c < 0:
			lo = mid + 1
		case c > 0:
			hi = mid
		default:
			return mid, true
		}
	}
	return 0, false
}
