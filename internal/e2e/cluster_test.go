package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/testnet"
	"github.com/orchardhq/orchard/node"
	"github.com/orchardhq/orchard/publish"
	"github.com/orchardhq/orchard/release"
)

var secret = []byte("e2e-secret-0123456789abcdef0123456789")

const site = "e2e.test"

// master is the master's side in one process: release store, builder, the
// catch-up listener and a publisher.
type master struct {
	store *release.Store
	gen   *genSite
	srv   *http.Server
	ln    net.Listener
	pub   *publish.Publisher
}

func startMaster(t *testing.T, pages int) *master {
	t.Helper()
	return startMasterAt(t, pages, filepath.Join(t.TempDir(), "master"), "127.0.0.1:0", secret)
}

// startMasterAt runs the master's side with its store in dir and its control
// listener on addr.
func startMasterAt(t *testing.T, pages int, dir, addr string, secret []byte) *master {
	t.Helper()
	st, err := release.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := &master{store: st, gen: newGenSite(pages)}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	m.ln = ln
	m.srv = &http.Server{Handler: publish.NewMasterHandler(publish.MasterConfig{
		Secret: secret, Catalog: catalog{st}, Blobs: st.Blobs(), Logger: quietLog(),
	}), ReadHeaderTimeout: 5 * time.Second}
	go m.srv.Serve(ln)
	t.Cleanup(func() { m.srv.Close() })
	m.pub = &publish.Publisher{Secret: secret, Blobs: st.Blobs(), Catalog: catalog{st}, Logger: quietLog()}
	return m
}

func (m *master) addr() string { return m.ln.Addr().String() }

// build builds the generated site and returns the new release's manifest.
func (m *master) build(t *testing.T) *orchard.Manifest {
	t.Helper()
	b := &release.Builder{Store: m.store, Logger: quietLog()}
	res, err := b.Build(context.Background(), &orchard.Site{Host: site}, m.gen)
	if err != nil {
		t.Fatal(err)
	}
	return res.Manifest
}

func (m *master) publish(t *testing.T, man *orchard.Manifest) *publish.Result {
	t.Helper()
	res, err := m.pub.Publish(context.Background(), site, man, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// catalog adapts the master's release store (as cmd/orchard does).
type catalog struct{ s *release.Store }

func (c catalog) Active() (map[string]string, error) {
	sites, err := c.s.Sites()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, s := range sites {
		if id, err := c.s.Active(s); err != nil {
			return nil, err
		} else if id != "" {
			out[s] = id
		}
	}
	return out, nil
}
func (c catalog) ActiveVersion() string                               { return "" }
func (c catalog) ActiveSince(string) (map[string]string, bool)        { return nil, false }
func (c catalog) Manifest(site, id string) (*orchard.Manifest, error) { return c.s.Manifest(site, id) }
func (c catalog) SetActive(site, id string) error                     { _, err := c.s.SetActive(site, id); return err }

// webNode is a real node with the publish protocol on its control listener.
type webNode struct {
	name   string
	dir    string
	nd     *node.Node
	sync   *publish.Node
	cancel context.CancelFunc
	done   chan struct{}
	listen string
	ctl    string
}

func startNode(t *testing.T, name, dir, masterAddr, listen, ctl string) *webNode {
	t.Helper()
	return startNodeKey(t, name, dir, masterAddr, listen, ctl, secret)
}

func startNodeKey(t *testing.T, name, dir, masterAddr, listen, ctl string, secret []byte) *webNode {
	t.Helper()
	st, err := release.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := &webNode{name: name, dir: dir, done: make(chan struct{})}
	if listen == "" {
		listen, ctl = "127.0.0.1:0", "127.0.0.1:0"
	}
	w.nd = node.New(node.Config{Name: name, Dir: dir, Listen: listen, Control: ctl, Logger: quietLog()})
	w.sync = publish.NewNode(publish.NodeConfig{
		Name: name, Secret: secret, Blobs: st.Blobs(), State: w.nd, Master: masterAddr,
		CatchUp: 200 * time.Millisecond, Logger: quietLog(),
	})
	w.nd.SetControlHandler(w.sync.Handler())
	if err := w.nd.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.listen, w.ctl = w.nd.Addr(), w.nd.ControlAddr()
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	go func() { defer close(w.done); w.sync.Run(ctx) }()
	t.Cleanup(w.stop)
	return w
}

func (w *webNode) stop() {
	w.cancel()
	<-w.done
	w.nd.Close()
}

func (w *webNode) active() string { return w.nd.Releases()[site] }

func quietLog() *slog.Logger {
	if os.Getenv("E2E_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

func targets(nodes ...*webNode) []publish.Target {
	var out []publish.Target
	for _, n := range nodes {
		out = append(out, publish.Target{Name: n.name, ControlAddr: n.ctl})
	}
	return out
}

// TestPublishUnderLoad publishes release after release while clients read
// every node: no request fails and every body is the file of the release its
// X-Orchard-Release header names.
func TestPublishUnderLoad(t *testing.T) {
	m := startMaster(t, 200)
	var nodes []*webNode
	for i := range 3 {
		nodes = append(nodes, startNode(t, fmt.Sprintf("node%d", i), filepath.Join(t.TempDir(), "n"), "", "", ""))
	}
	m.pub.Nodes = targets(nodes...)
	manifests := sync.Map{} // id -> *orchard.Manifest
	first := m.build(t)
	manifests.Store(first.ID(), first)
	if res := m.publish(t, first); !res.OK() {
		t.Fatalf("first publish: %+v", res.Nodes)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var requests, failures atomic.Int64
	var wg sync.WaitGroup
	var failMu sync.Mutex
	var failText []string
	fail := func(format string, args ...any) {
		failures.Add(1)
		failMu.Lock()
		if len(failText) < 5 {
			failText = append(failText, fmt.Sprintf(format, args...))
		}
		failMu.Unlock()
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 8}, Timeout: 10 * time.Second}
	for c := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 1))
			for ctx.Err() == nil {
				n := nodes[rng.IntN(len(nodes))]
				p := pagePath(rng.IntN(200))
				req, _ := http.NewRequest("GET", "http://"+n.listen+p, nil)
				req.Host = site
				resp, err := client.Do(req)
				if err != nil {
					fail("GET %s on %s: %v", p, n.name, err)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				requests.Add(1)
				if err != nil || resp.StatusCode != 200 {
					fail("GET %s on %s: status %d %v", p, n.name, resp.StatusCode, err)
					continue
				}
				id := resp.Header.Get(orchard.ReleaseHeader)
				v, ok := manifests.Load(id)
				if !ok {
					fail("GET %s: unknown release %q", p, id)
					continue
				}
				sum := sha256.Sum256(body)
				if want := v.(*orchard.Manifest).Files[orchard.ManifestKey(p)].SHA256; hex.EncodeToString(sum[:]) != want {
					fail("GET %s: body is not release %s's", p, id)
				}
			}
		}()
	}
	for round := range 4 {
		m.gen.touch(round, round+10, round+20)
		if round == 2 {
			m.gen.setTemplate("t2") // every page changes
		}
		man := m.build(t)
		manifests.Store(man.ID(), man)
		if res := m.publish(t, man); !res.OK() {
			t.Fatalf("publish round %d: %+v", round, res.Nodes)
		}
		for _, n := range nodes {
			if n.active() != man.ID() {
				t.Fatalf("%s serves %s after publishing %s", n.name, n.active(), man.ID())
			}
		}
	}
	testnet.WaitFor(t, "some load", func() bool { return requests.Load() > 500 })
	cancel()
	wg.Wait()
	t.Logf("%d requests during 4 publishes, %d failures", requests.Load(), failures.Load())
	if failures.Load() > 0 {
		t.Fatalf("%d of %d requests failed: %v", failures.Load(), requests.Load(), failText)
	}
}

// TestDownNodeCatchesUp: a node that is down during a publish is reported
// down, and serves the release soon after it comes back.
func TestDownNodeCatchesUp(t *testing.T) {
	m := startMaster(t, 50)
	up := startNode(t, "node0", filepath.Join(t.TempDir(), "n0"), m.addr(), "", "")
	downDir := filepath.Join(t.TempDir(), "n1")
	down := startNode(t, "node1", downDir, m.addr(), "", "")
	m.pub.Nodes = targets(up, down)
	v1 := m.build(t)
	if res := m.publish(t, v1); !res.OK() {
		t.Fatal(res.Nodes)
	}
	listen, ctl := down.listen, down.ctl
	down.stop()

	m.gen.touch(1)
	v2 := m.build(t)
	res := m.publish(t, v2)
	if !res.OK() || len(res.Down()) != 1 || res.Down()[0] != "node1" {
		t.Fatalf("want node1 down, others activated: %+v", res.Nodes)
	}
	back := time.Now()
	again := startNode(t, "node1", downDir, m.addr(), listen, ctl)
	if got := again.active(); got != v1.ID() {
		t.Fatalf("restarted node serves %q, want the old %s until it catches up", got, v1.ID())
	}
	testnet.WaitFor(t, "catch-up", func() bool { return again.active() == v2.ID() })
	t.Logf("caught up %v after restart", time.Since(back).Round(time.Millisecond))
}

// TestStorageFailure: a node that cannot write blobs reports the error, the
// others activate and the failing node keeps serving its old release.
func TestStorageFailure(t *testing.T) {
	m := startMaster(t, 30)
	good := startNode(t, "node0", filepath.Join(t.TempDir(), "n0"), "", "", "")
	badDir := filepath.Join(t.TempDir(), "n1")
	bad := startNode(t, "node1", badDir, "", "", "")
	m.pub.Nodes = targets(good, bad)
	v1 := m.build(t)
	if res := m.publish(t, v1); !res.OK() {
		t.Fatal(res.Nodes)
	}
	// Break the disk: every shard directory of the blob store becomes a file
	// (a read-only directory would not stop root), so writes fail.
	shards := filepath.Join(badDir, "blobs")
	if err := os.RemoveAll(shards); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shards, []byte("not a directory"), 0o444); err != nil {
		t.Fatal(err)
	}
	m.gen.touch(3)
	v2 := m.build(t)
	res := m.publish(t, v2)
	if res.OK() {
		t.Fatal("publish reported OK with a broken disk")
	}
	if res.Nodes[0].State != publish.PhaseActivated {
		t.Errorf("good node: %s %v", res.Nodes[0].State, res.Nodes[0].Err)
	}
	if res.Nodes[1].State != publish.PhaseFailed || res.Nodes[1].Err == nil {
		t.Errorf("bad node: %s %v", res.Nodes[1].State, res.Nodes[1].Err)
	}
	t.Logf("reported: %v", res.Nodes[1].Err)
	if got := bad.active(); got != v1.ID() {
		t.Errorf("bad node serves %q, want still %s", got, v1.ID())
	}
}
