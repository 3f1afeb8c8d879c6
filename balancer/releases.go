package balancer

import (
	"strconv"

	"github.com/orchardhq/orchard"
)

// Release-aware routing. Each member's releases come from its health
// checks and, between checks, from the X-Orchard-Release header of its
// responses. A site's newest release is the one held by a majority of the
// members that report the site and are not down (members listed in
// several pools count once, by address); while no release has a majority
// (half-way through a publish to two nodes, say) the newest release stays
// what it was. One member's word is not enough: a node made to activate an
// odd release (a replayed request, a bug) would otherwise draw the site's
// traffic to it. A quorum needs no traffic beyond the health checks, and a
// publish to every node still switches as soon as most of them have
// activated; a pool of one node follows that node. Only sites reported by
// health checks are tracked, so a host the members do not serve never
// enters the table.

// targetRelease returns the newest release of a site ("" if unknown).
func (b *Balancer) targetRelease(site []byte) string {
	return b.targets.Load().get(site)
}

// observe notes the release a member answered a request with. The hot
// path (nothing changed) allocates nothing.
func (b *Balancer) observe(m *member, site, rel []byte, started int64) {
	if len(rel) == 0 || b.targetRelease(site) == "" || m.release(site) == string(rel) {
		return
	}
	if !orchard.ValidReleaseID(string(rel)) {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if started < m.relAt.Load() {
		return // an older request than the one that set what we know
	}
	old := m.release(site)
	if old == string(rel) {
		return
	}
	m.releases.Store(m.releases.Load().set(string(site), string(rel)))
	m.relAt.Store(started)
	b.recountTargetLocked(string(site))
}

// setHealthReleases replaces a member's releases with those of a health
// check that started at started (or, for a delta, changes those it names),
// unless a response seen since then told something newer. It reports
// whether the member's releases now reflect the check.
func (b *Balancer) setHealthReleases(m *member, h *orchard.Health, started int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if started < m.relAt.Load() {
		return false
	}
	cur := m.releases.Load()
	if h.Delta {
		b.applyReleaseChangesLocked(m, cur, h.Releases, started)
		return true
	}
	rels := h.Releases
	if cur.equal(rels) {
		return true
	}
	valid := make(map[string]string, len(rels))
	for site, id := range rels {
		if _, err := orchard.NormalizeHost(site); err != nil || !orchard.ValidReleaseID(id) {
			continue
		}
		valid[site] = id
	}
	m.releases.Store(newSiteTable(valid))
	m.relAt.Store(started)
	for site, id := range valid {
		if old, _ := cur.lookup(site); old != id {
			b.recountTargetLocked(site)
		}
	}
	cur.each(func(site, _ string) {
		if _, ok := valid[site]; !ok {
			b.recountTargetLocked(site)
		}
	})
	return true
}

// applyReleaseChangesLocked applies the changes a health check reported
// since the version cur reflects ("" id: the member no longer has the
// site). b.mu must be held.
func (b *Balancer) applyReleaseChangesLocked(m *member, cur *siteTable, changes map[string]string, started int64) {
	var changed []string
	valid := map[string]string{}
	for site, id := range changes {
		if h, err := orchard.NormalizeHost(site); err != nil || h != site || id != "" && !orchard.ValidReleaseID(id) {
			continue
		}
		if old, ok := cur.lookup(site); ok && old == id || !ok && id == "" {
			continue
		}
		changed = append(changed, site)
		valid[site] = id
	}
	if len(changed) == 0 {
		return
	}
	m.releases.Store(cur.with(valid))
	m.relAt.Store(started)
	for _, site := range changed {
		b.recountTargetLocked(site)
	}
}

// Sites returns the newest release of each site, as the balancer routes
// them now.
func (b *Balancer) Sites() map[string]string { return b.targets.Load().all() }

// SitesVersion returns a value that changes whenever Sites does: the
// release metrics of 10,000 sites are digested again only then, not at
// every scrape. A change is counted after it is stored, so a reader that
// reads the version, then the sites, may see a newer table than the
// version says (and reads it again next time), never an older one.
func (b *Balancer) SitesVersion() string { return strconv.FormatUint(b.targetsGen.Load(), 10) }

// recountMemberLocked counts again the sites m reports, after m went down
// or came back. b.mu must be held.
func (b *Balancer) recountMemberLocked(m *member) {
	m.releases.Load().each(func(site, _ string) { b.recountTargetLocked(site) })
}

// recountTargetLocked sets a site's newest release to the one a majority
// of the live members reporting it hold, if any does. b.mu must be held.
func (b *Balancer) recountTargetLocked(site string) {
	key := []byte(site)
	counts := map[string]int{}
	counted := map[string]bool{} // member addresses
	voters := 0
	for _, m := range b.members {
		if m.down.Load() || counted[m.cfg.Addr] {
			continue
		}
		rel := m.release(key)
		if rel == "" {
			continue
		}
		counted[m.cfg.Addr] = true
		voters++
		counts[rel]++
	}
	targets := b.targets.Load()
	cur, _ := targets.lookup(site)
	for rel, n := range counts {
		if 2*n <= voters || rel == cur {
			continue
		}
		b.targets.Store(targets.set(site, rel))
		b.targetsGen.Add(1) // after the store: see SitesVersion
		b.log.Info("newest release", "site", site, "release", rel, "was", cur, "members", n, "of", voters)
		return
	}
}
