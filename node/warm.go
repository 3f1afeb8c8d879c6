package node

import (
	"context"
	"runtime"
	"sync"

	"github.com/orchardhq/orchard/release"
)

// A restart learns nothing but each site's active release id (the store's
// active index and a stat a site, see release.Store.ActiveSites): reading
// and decoding 10,000 manifests and building their routes took the node
// seconds before it could serve.
// Each site starts with a lazy state (lazySite) that knows its release
// id, so health and the publish protocol see the right releases at once;
// its first request loads the release (Node.loaded) while the warm-up, in
// the background, loads every site that is still lazy.
//
// A lazy site's aliases are taken from the aliases file the node's last
// run wrote (aliases.go). A site whose release it lacks has aliases not
// known until its release is loaded, so until every such site is loaded
// (hostsReady) a host missing from the host table might be one of them:
// its request waits (Node.lookupHostWaiting) rather than answering a
// wrong 404. The warm-up loads those sites first.

// warmWorkers bounds the goroutines of the warm-up: decoding manifests
// is CPU work, and requests come first.
func warmWorkers() int { return max(1, min(runtime.GOMAXPROCS(0), 4)) }

// startWarmLocked starts the warm-up over sites (the node's hosts, in
// the order they are loaded). The caller holds n.mu.
func (n *Node) startWarmLocked(sites []string) {
	if n.unknownAliases == 0 {
		n.hostsReadyOnce.Do(func() { close(n.hostsReady) })
	}
	// The sites whose aliases are not known first: requests for hosts
	// not in the table wait for them.
	slots := make([]*slot, 0, len(sites))
	for _, h := range sites {
		if s := n.sites[h].site.Load(); s.lazy && !s.aliasesKnown {
			slots = append(slots, s.slot)
		}
	}
	for _, h := range sites {
		if s := n.sites[h].site.Load(); s.lazy && s.aliasesKnown {
			slots = append(slots, s.slot)
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	n.warmStop = stop
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer close(n.warmDone)
		// Requests waiting for aliases stop waiting when the warm-up
		// ends, also when Close cut it short.
		defer n.hostsReadyOnce.Do(func() { close(n.hostsReady) })
		n.warm(ctx, slots)
		if ctx.Err() == nil {
			n.mu.Lock()
			if n.aliasesDirty {
				n.saveAliasesLocked()
			}
			n.mu.Unlock()
		}
	}()
}

// warm loads the lazy state of every slot, with a few goroutines.
func (n *Node) warm(ctx context.Context, slots []*slot) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		next int
	)
	take := func() *slot {
		mu.Lock()
		defer mu.Unlock()
		if next == len(slots) || ctx.Err() != nil {
			return nil
		}
		next++
		return slots[next-1]
	}
	for range n.warmers {
		wg.Go(func() {
			for sl := take(); sl != nil; sl = take() {
				if s := sl.site.Load(); s.lazy {
					n.loaded(s)
				}
			}
		})
	}
	wg.Wait()
	n.log.Debug("warm-up done", "sites", len(slots), "stopped", ctx.Err() != nil)
}

// loaded returns the serving state that replaces s, a lazy state: its
// release loaded (or, when that fails, a state without a release that
// answers 503, logged). When another request, the warm-up or an
// activation replaced s meanwhile, it returns what replaced it.
func (n *Node) loaded(s *site) *site {
	sl := s.slot
	sl.loading.Lock()
	defer sl.loading.Unlock()
	if cur := sl.site.Load(); cur != s {
		return cur
	}
	// Reading and decoding, outside n.mu: activations and the loads of
	// other sites go on meanwhile.
	m, err := n.store.Manifest(s.host, s.id)
	var set *release.Settings
	if err == nil {
		set, err = n.settings(m)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if cur := sl.site.Load(); cur != s {
		return cur
	}
	var st *site
	if err == nil {
		st, err = n.newSiteWithLocked(m, s.id, set)
	}
	if err != nil {
		n.log.Error("cannot load active release", "site", s.host, "release", s.id, "err", err)
		st = &site{host: s.host}
	}
	if n.installLocked(s.host, st) {
		n.rebuildHostsLocked()
	}
	return st
}

// lookupHostWaiting is lookupHost for a request: a lazy site is loaded,
// and a host not in the table waits, while some lazy site's aliases are
// unknown, until they are known (it may be one of them).
func (n *Node) lookupHostWaiting(h []byte) *site {
	s := n.lookupHost(h)
	if s == nil {
		select {
		case <-n.hostsReady:
			return nil
		default:
		}
		<-n.hostsReady
		s = n.lookupHost(h)
	}
	if s != nil && s.lazy {
		s = n.loaded(s)
	}
	return s
}
