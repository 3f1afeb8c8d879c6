package node

import (
	"fmt"
	"testing"
)

// activateNew activates release 0 of a new site host (with aliases) on n.
func activateNew(t *testing.T, n *Node, host string, aliases ...string) string {
	t.Helper()
	m := siteRelease(t, n.Store(), host, 0, 1, aliases...)
	if err := n.Store().Blobs().Sync(); err != nil {
		t.Fatal(err)
	}
	if err := n.Activate(host, m.ID(), m, nil); err != nil {
		t.Fatal(err)
	}
	return m.ID()
}

// serves checks that host h is served by site's release id.
func serves(t *testing.T, n *Node, h, site, id string) {
	t.Helper()
	s := n.lookupHost([]byte(h))
	if s == nil || s.host != site || s.id != id {
		t.Fatalf("%s is served by %v, want %s release %s", h, s, site, id)
	}
}

// TestActivate_NewSitesAddToHostTable: sites activated for the first
// time join the host table without rebuilding it from every site each
// time (a publish of 10,000 new sites rebuilt and sorted a table of up to
// 10,000 hosts 10,000 times), and each is served through its host and
// its alias at once.
func TestActivate_NewSitesAddToHostTable(t *testing.T) {
	n := openScaleNode(t, 10)
	before := n.hostRebuilds
	const added = 120
	ids := map[string]string{}
	for i := range added {
		h := fmt.Sprintf("new%04d.test", i)
		ids[h] = activateNew(t, n, h, "www."+h)
		serves(t, n, h, h, ids[h])
		serves(t, n, "www."+h, h, ids[h])
	}
	if got := n.hostRebuilds - before; got > added/10 {
		t.Errorf("%d new sites rebuilt the host table %d times, want at most %d", added, got, added/10)
	}
	for h, id := range ids {
		serves(t, n, h, h, id)
		serves(t, n, "www."+h, h, id)
	}
	for i := range 10 {
		h := siteHost(i)
		if s := n.lookupHost([]byte(h)); s == nil || s.host != h {
			t.Fatalf("%s is not served any more", h)
		}
	}
}

// TestActivate_NewSiteAliasRules: a new site's alias never takes another
// site's host, and a new site's host takes back the alias another site
// claimed.
func TestActivate_NewSiteAliasRules(t *testing.T) {
	n := openScaleNode(t, 3)
	a := siteHost(0)
	aID := n.Releases()[a]
	bID := activateNew(t, n, "b.test", a, "www.b.test")
	serves(t, n, a, a, aID)
	serves(t, n, "www.b.test", "b.test", bID)
	cID := activateNew(t, n, "c.test", "taken.test")
	serves(t, n, "taken.test", "c.test", cID)
	takenID := activateNew(t, n, "taken.test")
	serves(t, n, "taken.test", "taken.test", takenID)
	serves(t, n, "c.test", "c.test", cID)
}
