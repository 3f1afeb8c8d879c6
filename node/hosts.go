package node

import "math"

// hostTable maps a host or an alias to its site's slot; every request
// reads it, lock-free, and a change replaces it whole. Rebuilding it from
// every site each time a site was added made publishing 10,000 new sites
// cost 10,000 rebuilds of a table of up to 10,000 hosts (sorted each
// time): most of a node's CPU in a publish of every site. So a table is a
// base, built from every site, and the few hosts added since: adding a
// site copies those few, and only once they are more than about the
// square root of the base is the base built again.
type hostTable struct {
	base  map[string]*slot // never written once the table is stored
	added map[string]*slot // likewise; hosts of sites added since base was built
}

// get returns the slot of host h, nil when none. It takes the bytes of
// a request's Host (each conversion inside an index expression does not
// allocate).
func (t *hostTable) get(h []byte) *slot {
	if sl, ok := t.added[string(h)]; ok {
		return sl
	}
	return t.base[string(h)]
}

// has reports whether host h is in the table.
func (t *hostTable) has(h string) bool {
	if _, ok := t.added[h]; ok {
		return true
	}
	_, ok := t.base[h]
	return ok
}

// maxAdded is how many hosts a table over base may hold beside it.
func maxAdded(base int) int { return 32 + int(math.Sqrt(float64(base))) }

// addSiteLocked puts the new site host (slot sl, with aliases) in the
// host table, and reports whether it could do so without rebuilding the
// table: not when the host or an alias is in the table already (an alias
// yields to a host, and between aliases the rule of rebuildHostsLocked
// decides), nor when the table has added enough since its base was
// built. The caller holds n.mu.
func (n *Node) addSiteLocked(host string, sl *slot, aliases []string) bool {
	t := n.hosts.Load()
	if len(t.added)+1+len(aliases) > maxAdded(len(t.base)) || t.has(host) {
		return false
	}
	added := make(map[string]*slot, len(t.added)+1+len(aliases))
	for h, s := range t.added {
		added[h] = s
	}
	added[host] = sl
	for _, a := range aliases {
		if _, dup := added[a]; dup || t.has(a) {
			return false
		}
		added[a] = sl
	}
	n.hosts.Store(&hostTable{base: t.base, added: added})
	return true
}
