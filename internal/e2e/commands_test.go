package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orchardhq/orchard/internal/testnet"
)

// TestCommands runs orchard publish, status and rollback against nodes
// served in this process on the ports of a cluster file.
func TestCommands(t *testing.T) {
	c := newCluster(t, 3)
	m := startMasterAt(t, 40, filepath.Join(c.dir, "master"), c.master, c.secret)
	var nodes []*webNode
	for _, n := range c.nodes[:2] { // node2 stays down for now
		nodes = append(nodes, startNodeKey(t, n.name, n.data, c.master, n.listen, n.control, c.secret))
	}
	v1 := m.build(t)

	out, code := run(t, "publish", "--config", c.file, "-s", site)
	t.Logf("publish with node2 down:\n%s", out)
	if code != 0 || !strings.Contains(out, "down: node2") || strings.Count(out, "activated") < 2 {
		t.Fatalf("publish with a node down: exit %d, want 0 listing node2 down\n%s", code, out)
	}
	for _, n := range nodes {
		if n.active() != v1.ID() {
			t.Fatalf("%s serves %q, want %s", n.name, n.active(), v1.ID())
		}
	}

	out, code = run(t, "status", "--config", c.file)
	if code != 1 || !strings.Contains(out, "down") {
		t.Fatalf("status with node2 down: exit %d\n%s", code, out)
	}

	n2 := c.nodes[2]
	late := startNodeKey(t, n2.name, n2.data, c.master, n2.listen, n2.control, c.secret)
	testnet.WaitFor(t, "node2 catches up", func() bool { return late.active() == v1.ID() })
	nodes = append(nodes, late)
	out, code = run(t, "status", "--config", c.file)
	t.Logf("status:\n%s", out)
	if code != 0 || !strings.Contains(out, "all 3 nodes serve") {
		t.Fatalf("status after catch-up: exit %d\n%s", code, out)
	}

	m.gen.touch(5)
	time.Sleep(1100 * time.Millisecond) // releases are ordered by creation time, in seconds on some file systems
	v2 := m.build(t)
	if out, code = run(t, "publish", "--config", c.file, "-s", site, "-q"); code != 0 {
		t.Fatalf("publish v2: exit %d\n%s", code, out)
	}
	for _, n := range nodes {
		if n.active() != v2.ID() {
			t.Fatalf("%s serves %q after publish, want %s", n.name, n.active(), v2.ID())
		}
	}

	out, code = run(t, "rollback", "--config", c.file, "-s", site)
	t.Logf("rollback:\n%s", out)
	if code != 0 {
		t.Fatalf("rollback: exit %d\n%s", code, out)
	}
	for _, n := range nodes {
		if n.active() != v1.ID() {
			t.Fatalf("%s serves %q after rollback, want %s", n.name, n.active(), v1.ID())
		}
	}
	if !strings.Contains(out, "  0  ") && !strings.Contains(out, "0 B") {
		t.Errorf("rollback sent blobs:\n%s", out)
	}

	if out, code = run(t, "rollback", "--config", c.file, "-s", site, v2.ID()); code != 0 {
		t.Fatalf("rollback to %s: exit %d\n%s", v2.ID(), code, out)
	}
	if out, code = run(t, "rollback", "--config", c.file, "-s", site, "zz"); code != 2 {
		t.Fatalf("rollback to a bad id: exit %d, want 2\n%s", code, out)
	}
	if out, code = run(t, "publish", "--config", c.file); code != 2 {
		t.Fatalf("publish without -s: exit %d, want 2\n%s", code, out)
	}
}
