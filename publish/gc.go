package publish

import (
	"maps"
	"slices"
	"time"
)

// A node's GC reads the manifest of every release it keeps to find the
// blobs still in use: with 10,000 sites that is seconds of CPU, and run a
// minute after every publish it made three nodes on one machine slow the
// next publish down. So it runs no sooner than a minute after the last one
// and than gcSpacing times as long as the last one took (at most 1/50 of
// the node's time), and it prunes only the sites that activated a release
// since (every site on the first run after a start, which cannot know what
// the last process left).

// gcSpacing is how many times its own duration a GC waits before the next.
const gcSpacing = 50

// gcClock is Run's record of the GCs it ran.
type gcClock struct {
	now    func() time.Time
	last   time.Time     // when the last GC ended
	wait   time.Duration // before the next may start
	pruned bool          // a GC pruned every site since the start
}

// maybeGC runs the GC hook if a release was activated since it last ran
// and the wait since then is over.
func (n *Node) maybeGC(c *gcClock) {
	now := c.now()
	n.syncMu.Lock()
	due := len(n.gcSites) > 0 && n.cfg.GC != nil && now.Sub(c.last) >= max(c.wait, time.Minute)
	var sites []string
	if due {
		sites = slices.Sorted(maps.Keys(n.gcSites))
		clear(n.gcSites)
	}
	n.syncMu.Unlock()
	if !due {
		return
	}
	if !c.pruned {
		sites = nil
	}
	err := n.cfg.GC(sites)
	if err != nil {
		n.log.Warn("garbage collection failed", "err", err)
	}
	c.pruned = err == nil // after a failure, the next prunes every site
	c.last = c.now()
	took := c.last.Sub(now)
	c.wait = gcSpacing * took
	n.log.Debug("garbage collection", "sites", len(sites), "took", took, "next_after", max(c.wait, time.Minute))
}
