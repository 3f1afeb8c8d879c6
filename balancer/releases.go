package balancer

import (
	"maps"

	"github.com/orchardhq/orchard"
)

// Release-aware routing. Each member's releases come from its health
// checks and, between checks, from the X-Orchard-Release header of its
// responses. A site's newest release is the one a member most recently
// moved to (a publish or a rollback); before any move is seen, the first
// release reported. Only sites reported by health checks are tracked, so
// a host the members do not serve never enters the table.

// targetRelease returns the newest release of a site ("" if unknown).
func (b *Balancer) targetRelease(site []byte) string {
	return (*b.targets.Load())[string(site)]
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
	next := map[string]string{}
	if p := m.releases.Load(); p != nil {
		next = maps.Clone(*p)
	}
	next[string(site)] = string(rel)
	m.releases.Store(&next)
	m.relAt.Store(started)
	b.moveTargetLocked(string(site), old, string(rel))
}

// setHealthReleases replaces a member's releases with those of a health
// check that started at started, unless a response seen since then told
// something newer.
func (b *Balancer) setHealthReleases(m *member, rels map[string]string, started int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if started < m.relAt.Load() {
		return
	}
	var cur map[string]string
	if p := m.releases.Load(); p != nil {
		cur = *p
	}
	if maps.Equal(cur, rels) {
		return
	}
	next := make(map[string]string, len(rels))
	for site, id := range rels {
		if _, err := orchard.NormalizeHost(site); err != nil || !orchard.ValidReleaseID(id) {
			continue
		}
		next[site] = id
		b.moveTargetLocked(site, cur[site], id)
	}
	m.releases.Store(&next)
	m.relAt.Store(started)
}

// moveTargetLocked updates a site's newest release after a member moved
// from old ("" = first report) to id. b.mu must be held.
func (b *Balancer) moveTargetLocked(site, old, id string) {
	targets := *b.targets.Load()
	cur := targets[site]
	if cur == id || (old == "" && cur != "") {
		return
	}
	next := maps.Clone(targets)
	next[site] = id
	b.targets.Store(&next)
	b.log.Info("newest release", "site", site, "release", id, "was", cur)
}
