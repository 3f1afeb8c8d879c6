package publish_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/testnet"
	"github.com/orchardhq/orchard/publish"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-test-secret")

// testNode is one node's side of the protocol on a loopback server.
type testNode struct {
	blobs *memBlobs
	state *memState
	node  *publish.Node
	srv   *httptest.Server
}

// wantNothingKept fails unless n holds no blob and no active release.
func (n *testNode) wantNothingKept(t *testing.T, when string) {
	t.Helper()
	if got := n.blobs.len(); got != 0 {
		t.Errorf("%d blobs stored %s, want 0", got, when)
	}
	if got := n.state.Releases(); len(got) != 0 {
		t.Errorf("releases active %s: %v", when, got)
	}
}

func startNode(t *testing.T, name, master string) *testNode {
	t.Helper()
	b := newMemBlobs()
	st := newMemState(b)
	n := publish.NewNode(publish.NodeConfig{
		Name: name, Secret: testSecret, Blobs: b, State: st, Master: master,
		CatchUp: 50 * time.Millisecond, MaxBlobBytes: 1 << 20, MaxManifestBytes: 1 << 20, MaxBatchBytes: 1 << 20,
	})
	srv := httptest.NewServer(n.Handler())
	t.Cleanup(srv.Close)
	return &testNode{blobs: b, state: st, node: n, srv: srv}
}

func (n *testNode) addr() string { return strings.TrimPrefix(n.srv.URL, "http://") }

// makeRelease puts pages into the master's blobs and returns their manifest.
func makeRelease(master *memBlobs, site string, pages int, variant string) *orchard.Manifest {
	m := &orchard.Manifest{Site: site, Created: time.Unix(1700000000, 0).UTC(), Files: map[string]orchard.ManifestEntry{}}
	for i := range pages {
		body := []byte(fmt.Sprintf("<html>page %d of %s %s</html>", i, site, variant))
		gz := append([]byte("gz:"), body...)
		m.Files[fmt.Sprintf("/p%d/index.html", i)] = orchard.ManifestEntry{
			SHA256: master.put(body), Size: int64(len(body)), ContentType: "text/html; charset=utf-8",
			Gzip: master.put(gz), GzipSize: int64(len(gz)),
		}
	}
	big := bytes.Repeat([]byte("x"), 700<<10) // sent alone, not in a batch
	m.Files["/big.bin"] = orchard.ManifestEntry{SHA256: master.put(append(big, variant...)), Size: int64(len(big) + len(variant)), ContentType: "application/octet-stream"}
	return m
}

func newPublisher(master *memBlobs, cat *memCatalog, nodes ...*testNode) *publish.Publisher {
	p := &publish.Publisher{Secret: testSecret, Blobs: master, Catalog: cat, BatchBytes: 64 << 10}
	for i, n := range nodes {
		p.Nodes = append(p.Nodes, publish.Target{Name: fmt.Sprintf("node%d", i), ControlAddr: n.addr()})
	}
	return p
}

func TestPublish(t *testing.T) {
	master, cat := newMemBlobs(), newMemCatalog()
	nodes := []*testNode{startNode(t, "node0", ""), startNode(t, "node1", ""), startNode(t, "node2", "")}
	p := newPublisher(master, cat, nodes...)
	ctx := context.Background()

	m1 := makeRelease(master, "a.test", 300, "v1")
	var events int
	res, err := p.Publish(ctx, "a.test", m1, func(publish.Event) { events++ })
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || events == 0 {
		t.Fatalf("first publish: OK=%v events=%d result=%+v", res.OK(), events, res)
	}
	for i, n := range nodes {
		if got := n.state.Releases()["a.test"]; got != m1.ID() {
			t.Errorf("node%d active = %q, want %q", i, got, m1.ID())
		}
		if res.Nodes[i].Missing != 601 {
			t.Errorf("node%d missing = %d, want 601", i, res.Nodes[i].Missing)
		}
	}
	if act, _ := cat.Active(); act["a.test"] != m1.ID() {
		t.Errorf("master's active = %q, want %q", act["a.test"], m1.ID())
	}

	t.Run("OnlyChangedBlobsTravel", func(t *testing.T) {
		m2 := makeRelease(master, "a.test", 300, "v1")
		m2.Created = m1.Created.Add(time.Minute) // so the rollback below goes back in time
		body := []byte("<html>changed</html>")
		e := m2.Files["/p7/index.html"]
		e.SHA256, e.Size, e.Gzip, e.GzipSize = master.put(body), int64(len(body)), "", 0
		m2.Files["/p7/index.html"] = e
		res, err := p.Publish(ctx, "a.test", m2, nil)
		if err != nil || !res.OK() {
			t.Fatalf("publish: %v %+v", err, res)
		}
		for i, nr := range res.Nodes {
			if nr.Missing != 1 {
				t.Errorf("node%d was sent %d blobs, want 1", i, nr.Missing)
			}
		}
	})

	t.Run("Rollback", func(t *testing.T) {
		cat.add(m1)
		res, err := p.Rollback(ctx, "a.test", m1.ID(), nil)
		if err != nil || !res.OK() {
			t.Fatalf("rollback: %v %+v", err, res)
		}
		for i, n := range nodes {
			if got := n.state.Releases()["a.test"]; got != m1.ID() {
				t.Errorf("node%d active = %q after rollback, want %q", i, got, m1.ID())
			}
			if res.Nodes[i].Missing != 0 {
				t.Errorf("rollback sent %d blobs to node%d", res.Nodes[i].Missing, i)
			}
		}
	})

	t.Run("Status", func(t *testing.T) {
		for _, ns := range p.Status(ctx) {
			if ns.Err != nil || ns.Status.Releases["a.test"] != m1.ID() {
				t.Errorf("status of %s: %v %+v", ns.Name, ns.Err, ns.Status)
			}
		}
	})
}

func TestPublishNodeDownCatchesUp(t *testing.T) {
	master, cat := newMemBlobs(), newMemCatalog()
	msrv := httptest.NewServer(publish.NewMasterHandler(publish.MasterConfig{Secret: testSecret, Catalog: cat, Blobs: master}))
	t.Cleanup(msrv.Close)
	up := startNode(t, "node0", "")

	// A port nothing listens on: the node is down.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downAddr := l.Addr().String()
	l.Close()

	p := newPublisher(master, cat, up)
	p.Nodes = append(p.Nodes, publish.Target{Name: "node1", ControlAddr: downAddr})
	m := makeRelease(master, "a.test", 50, "v1")
	cat.add(m)
	res, err := p.Publish(context.Background(), "a.test", m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || len(res.Down()) != 1 || res.Down()[0] != "node1" {
		t.Fatalf("want OK with node1 down, got OK=%v down=%v %+v", res.OK(), res.Down(), res.Nodes)
	}

	// node1 comes back and pulls what it missed from the master.
	late := startNode(t, "node1", strings.TrimPrefix(msrv.URL, "http://"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- late.node.Run(ctx) }()
	defer func() { cancel(); <-done }()
	testnet.WaitFor(t, "the late node to catch up", func() bool { return late.state.Releases()["a.test"] == m.ID() })
	if st := late.node.Status(); st.Sync.Error != "" {
		t.Errorf("sync error: %s", st.Sync.Error)
	}
}

func TestPublishStorageFailure(t *testing.T) {
	master, cat := newMemBlobs(), newMemCatalog()
	good, bad := startNode(t, "node0", ""), startNode(t, "node1", "")
	bad.blobs.failPut = true
	p := newPublisher(master, cat, good, bad)
	m := makeRelease(master, "a.test", 20, "v1")
	res, err := p.Publish(context.Background(), "a.test", m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() {
		t.Fatal("publish with a failing disk reported OK")
	}
	if res.Nodes[0].State != publish.PhaseActivated {
		t.Errorf("good node: %s %v", res.Nodes[0].State, res.Nodes[0].Err)
	}
	if res.Nodes[1].State != publish.PhaseFailed || !errors.Is(res.Nodes[1].Err, publish.ErrStorage) {
		t.Errorf("bad node: state %s err %v, want failed with ErrStorage", res.Nodes[1].State, res.Nodes[1].Err)
	}
	if got := bad.state.Releases()["a.test"]; got != "" {
		t.Errorf("bad node activated %q", got)
	}
}

// TestPublishOrder checks that a node refuses to go back to a release
// created before its active one unless told which release that replaces,
// and that the publisher tells it so for a rollback and for a build that
// came back to an earlier release (an edit undone).
func TestPublishOrder(t *testing.T) {
	master, cat := newMemBlobs(), newMemCatalog()
	n := startNode(t, "node0", "")
	p := newPublisher(master, cat, n)
	ctx := context.Background()
	older := makeRelease(master, "a.test", 3, "v1")
	newer := makeRelease(master, "a.test", 3, "v2")
	newer.Created = older.Created.Add(time.Minute)
	cat.add(older)
	cat.add(newer)
	publishTo := func(p *publish.Publisher, m *orchard.Manifest) publish.NodeResult {
		t.Helper()
		res, err := p.Publish(ctx, "a.test", m, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res.Nodes[0]
	}
	if nr := publishTo(p, older); nr.State != publish.PhaseActivated {
		t.Fatalf("publish older: %+v", nr)
	}
	if nr := publishTo(p, newer); nr.State != publish.PhaseActivated || nr.Was != older.ID() {
		t.Fatalf("publish newer: %+v, want activated over %s", nr, older.ID())
	}

	t.Run("ErrStaleWithoutRollback", func(t *testing.T) {
		blind := newPublisher(master, cat, n)
		blind.Catalog = nil // cannot tell that the release goes back
		nr := publishTo(blind, older)
		if nr.State != publish.PhaseFailed || !errors.Is(nr.Err, publish.ErrStale) {
			t.Fatalf("older release without a rollback: %s %v, want failed with ErrStale", nr.State, nr.Err)
		}
		if got := n.state.Releases()["a.test"]; got != newer.ID() {
			t.Fatalf("active = %s, want %s", got, newer.ID())
		}
	})
	t.Run("UndoneEditIsARollback", func(t *testing.T) {
		if nr := publishTo(p, older); nr.State != publish.PhaseActivated {
			t.Fatalf("publish of an earlier build: %s %v", nr.State, nr.Err)
		}
		if nr := publishTo(p, newer); nr.State != publish.PhaseActivated {
			t.Fatalf("publish newer again: %s %v", nr.State, nr.Err)
		}
	})
	t.Run("Rollback", func(t *testing.T) {
		res, err := p.Rollback(ctx, "a.test", older.ID(), nil)
		if err != nil || !res.OK() {
			t.Fatalf("rollback: %v %+v", err, res)
		}
		if got := n.state.Releases()["a.test"]; got != older.ID() {
			t.Fatalf("active = %s after rollback, want %s", got, older.ID())
		}
	})
}

// signed sends one signed request without a Content-Type.
func signed(t *testing.T, method, url string, body []byte, secret []byte) *http.Response {
	t.Helper()
	return signedType(t, method, url, "", body, secret)
}

// TestNodeRejects checks that every bad request gets its status and leaves
// nothing behind.
func TestNodeRejects(t *testing.T) {
	master := newMemBlobs()
	n := startNode(t, "node0", "")
	m := makeRelease(master, "a.test", 3, "v1")
	good, _ := json.Marshal(m)
	content := []byte("hello")
	sha := master.put(content)

	dotdot := makeRelease(master, "a.test", 1, "v1")
	dotdot.Files["/../etc/passwd"] = dotdot.Files["/p0/index.html"]
	badDotdot, _ := json.Marshal(dotdot)
	badHash := makeRelease(master, "a.test", 1, "v1")
	e := badHash.Files["/p0/index.html"]
	e.SHA256 = "ABC"
	badHash.Files["/p0/index.html"] = e
	badHashJSON, _ := json.Marshal(badHash)

	tests := []struct {
		name   string
		method string
		path   string
		body   []byte
		secret []byte
		want   int
	}{
		{"OK", "POST", "/_orchard/v1/releases/a.test", good, testSecret, 200},
		{"WrongSecret", "POST", "/_orchard/v1/releases/a.test", good, []byte("not-the-secret-not-the-secret-xx"), 401},
		{"DotDotPath", "POST", "/_orchard/v1/releases/a.test", badDotdot, testSecret, 400},
		{"BadHash", "POST", "/_orchard/v1/releases/a.test", badHashJSON, testSecret, 400},
		{"OtherSite", "POST", "/_orchard/v1/releases/b.test", good, testSecret, 400},
		{"NotJSON", "POST", "/_orchard/v1/releases/a.test", []byte("{"), testSecret, 400},
		{"TamperedBlob", "PUT", "/_orchard/v1/blobs/" + sha, []byte("hellO"), testSecret, 422},
		{"BlobNameNotHash", "PUT", "/_orchard/v1/blobs/xyz", content, testSecret, 400},
		{"OversizedBlob", "PUT", "/_orchard/v1/blobs/" + master.put(make([]byte, 2<<20)), make([]byte, 2<<20), testSecret, 413},
		{"TamperedBatch", "POST", "/_orchard/v1/blobs", []byte(sha + " 5\nhellO"), testSecret, 422},
		{"MalformedBatch", "POST", "/_orchard/v1/blobs", []byte(sha + " 9\nhello"), testSecret, 400},
		{"ActivateUnstaged", "POST", "/_orchard/v1/releases/a.test/0123456789abcdef/activate", nil, testSecret, 404},
		{"ActivateMissingBlobs", "POST", "/_orchard/v1/releases/a.test/" + m.ID() + "/activate", nil, testSecret, 409},
		{"UnknownEndpoint", "GET", "/_orchard/v1/nothing", nil, testSecret, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := signed(t, tt.method, n.srv.URL+tt.path, tt.body, tt.secret)
			if resp.StatusCode != tt.want {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, b)
			}
		})
	}
	n.wantNothingKept(t, "after bad requests")
}

// TestNodeReplayAndTamper sends raw requests a client never would.
func TestNodeReplayAndTamper(t *testing.T) {
	n := startNode(t, "node0", "")
	content := []byte("hello")
	sha := newMemBlobs().put(content)

	send := func(req *http.Request) int {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	mk := func(body []byte) *http.Request {
		req, _ := http.NewRequest("PUT", n.srv.URL+"/_orchard/v1/blobs/"+sha, bytes.NewReader(body))
		return req
	}

	t.Run("Replay", func(t *testing.T) {
		req := mk(content)
		publish.Sign(req, testSecret, "node0", content)
		if got := send(req); got != 204 {
			t.Fatalf("first: %d", got)
		}
		again := mk(content)
		again.Header = req.Header.Clone()
		if got := send(again); got != 401 {
			t.Fatalf("replay: %d, want 401", got)
		}
	})
	t.Run("BodySwapped", func(t *testing.T) {
		other := []byte("other")
		osha := newMemBlobs().put(other)
		req, _ := http.NewRequest("PUT", n.srv.URL+"/_orchard/v1/blobs/"+osha, bytes.NewReader([]byte("evil!")))
		publish.Sign(req, testSecret, "node0", other) // signed for other bytes than sent
		if got := send(req); got != 401 {
			t.Fatalf("swapped body: %d, want 401", got)
		}
		if n.blobs.Has(osha) {
			t.Fatal("blob kept")
		}
	})
	t.Run("NoSignature", func(t *testing.T) {
		if got := send(mk(content)); got != 401 {
			t.Fatalf("unsigned: %d, want 401", got)
		}
	})
	t.Run("PathChanged", func(t *testing.T) {
		req := mk(content)
		publish.Sign(req, testSecret, "node0", content)
		req.URL.Path = "/_orchard/v1/status"
		req.Method = "GET"
		if got := send(req); got != 401 {
			t.Fatalf("changed path: %d, want 401", got)
		}
	})
}

// TestPublish_OneSiteListsNoSites: staging and activating a release of
// one site never asks the node's state for every site's release (a map
// of all the sites the node holds, built per call): the receiver asks
// for the one site it handles.
func TestPublish_OneSiteListsNoSites(t *testing.T) {
	master, cat := newMemBlobs(), newMemCatalog()
	n := startNode(t, "node0", "")
	p := newPublisher(master, cat, n)
	m1 := makeRelease(master, "a.test", 3, "v1")
	m2 := makeRelease(master, "a.test", 3, "v2")
	m2.Created = m1.Created.Add(time.Minute)
	for _, m := range []*orchard.Manifest{m1, m2} {
		res, err := p.Publish(context.Background(), "a.test", m, nil)
		if err != nil || !res.OK() {
			t.Fatalf("publish %s: %v %+v", m.ID(), err, res)
		}
	}
	if got := n.state.listed.Load(); got != 0 {
		t.Fatalf("two publishes listed every site's release %d times, want 0", got)
	}
}
