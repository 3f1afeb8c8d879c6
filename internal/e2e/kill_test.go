package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/testnet"
	"github.com/orchardhq/orchard/publish"
)

// nodeProc is one node running as a child process (orchard node NAME),
// killable with SIGKILL.
type nodeProc struct {
	cmd  *exec.Cmd
	addr nodeAddrs
	done chan struct{}
}

// startProcCluster starts the master's side in this process, with a site of
// pages pages, and two node processes of a new cluster file.
func startProcCluster(t *testing.T, pages int) (*cluster, *master, []*nodeProc) {
	t.Helper()
	c := newCluster(t, 2)
	m := startMasterAt(t, pages, filepath.Join(c.dir, "master"), c.master, c.secret)
	return c, m, []*nodeProc{startNodeProc(t, t, c, 0), startNodeProc(t, t, c, 1)}
}

// startNodeProc starts node i; owner (the whole test, when t is a subtest)
// stops it at the end.
func startNodeProc(t, owner *testing.T, c *cluster, i int) *nodeProc {
	t.Helper()
	cmd := exec.Command(orchardBin(t), "node", c.nodes[i].name, "--config", c.file)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if os.Getenv("E2E_LOG") != "" {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nodeProc{cmd: cmd, addr: c.nodes[i], done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	owner.Cleanup(p.kill) // every process stopped, even when the test fails
	testnet.WaitFor(t, p.addr.name+" up", func() bool { return p.health() != nil })
	return p
}

func (p *nodeProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// health returns the node's health, nil when it does not answer.
func (p *nodeProc) health() *orchard.Health {
	resp, err := http.Get("http://" + p.addr.control + orchard.HealthPath)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var h orchard.Health
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&h) != nil {
		return nil
	}
	return &h
}

func (p *nodeProc) active() string {
	if h := p.health(); h != nil {
		return h.Releases[site]
	}
	return ""
}

// checkComplete fetches every page from the node and checks that each body
// is the file of the release named in its X-Orchard-Release. With stable set
// (no catch-up can be under way) all must name one release. It returns the
// release of the first page.
func checkComplete(t *testing.T, p *nodeProc, m *master, pages int, stable bool) string {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
	seen := map[string]bool{}
	first := ""
	for i := range pages {
		req, _ := http.NewRequest("GET", "http://"+p.addr.listen+pagePath(i), nil)
		req.Host = site
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: GET %s: %v", p.addr.name, pagePath(i), err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get(orchard.ReleaseHeader)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: GET %s: status %d (release %q)", p.addr.name, pagePath(i), resp.StatusCode, id)
		}
		man, err := m.store.Manifest(site, id)
		if err != nil {
			t.Fatalf("%s: GET %s: release %q: %v", p.addr.name, pagePath(i), id, err)
		}
		sum := sha256.Sum256(body)
		if hex.EncodeToString(sum[:]) != man.Files[orchard.ManifestKey(pagePath(i))].SHA256 {
			t.Fatalf("%s: GET %s: body is not release %s's", p.addr.name, pagePath(i), id)
		}
		seen[id] = true
		if first == "" {
			first = id
		}
	}
	if stable && len(seen) != 1 {
		t.Fatalf("%s serves a mix of releases: %v", p.addr.name, seen)
	}
	return first
}

// TestKillNode kills a node with SIGKILL while it stages a release and while
// it activates one; restarted, it serves a complete release (the old or the
// new) and then catches up to the new one within 10 s.
func TestKillNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const pages = 300
	c, m, procs := startProcCluster(t, pages)
	owner := t
	m.pub.Nodes = []publish.Target{{Name: "node0", ControlAddr: c.nodes[0].control}, {Name: "node1", ControlAddr: c.nodes[1].control}}
	v1 := m.build(t)
	if res := m.publish(t, v1); !res.OK() {
		t.Fatal(res.Nodes)
	}

	for round, when := range []string{publish.PhaseUpload, publish.PhaseActivate, publish.PhaseUpload, publish.PhaseActivate} {
		t.Run(fmt.Sprintf("During%s%d", when, round), func(t *testing.T) {
			m.gen.setTemplate(fmt.Sprintf("t%d", round+10)) // every page changes
			next := m.build(t)
			prev := procs[1].active()
			victim := procs[1]
			killed := false
			res, err := m.pub.Publish(context.Background(), site, next, func(e publish.Event) {
				if e.Node == "node1" && e.Phase == when && !killed && (when != publish.PhaseUpload || e.Done > 0) {
					killed = true
					victim.cmd.Process.Signal(syscall.SIGKILL)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if !killed {
				t.Fatalf("never reached %s on node1: %+v", when, res.Nodes)
			}
			<-victim.done
			if res.Nodes[0].State != publish.PhaseActivated {
				t.Fatalf("node0: %s %v", res.Nodes[0].State, res.Nodes[0].Err)
			}
			t.Logf("node1 after kill: %s %v", res.Nodes[1].State, res.Nodes[1].Err)

			procs[1] = startNodeProc(t, owner, c, 1)
			// Catch-up may swap releases while this reads: each response must
			// still be whole and of the release it names.
			got := checkComplete(t, procs[1], m, pages, false)
			if got != prev && got != next.ID() {
				t.Fatalf("restarted node serves %s, want the old %s or the new %s", got, prev, next.ID())
			}
			testnet.WaitFor(t, "catch-up after restart", func() bool { return procs[1].active() == next.ID() })
			if got := checkComplete(t, procs[1], m, pages, true); got != next.ID() {
				t.Fatalf("after catch-up node1 serves %s, want %s", got, next.ID())
			}
		})
	}
	if got := checkComplete(t, procs[0], m, pages, true); got != procs[1].active() {
		t.Fatalf("nodes disagree at the end: node0 %s, node1 %s", got, procs[1].active())
	}
}
