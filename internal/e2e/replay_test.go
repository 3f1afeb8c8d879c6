package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/testnet"
	"github.com/orchardhq/orchard/publish"
	"github.com/orchardhq/orchard/release"
)

// captured is one control request as it went over the wire.
type captured struct {
	method, uri string
	header      http.Header
	body        []byte
}

// recorder is a control-listener proxy that keeps a copy of every request
// it forwards: what an attacker on the private subnet can capture.
type recorder struct {
	to  string // the node's control address
	srv *http.Server
	ln  net.Listener

	mu   sync.Mutex
	reqs []captured
}

func startRecorder(t *testing.T, to string) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{to: to, ln: ln}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(ln)
	t.Cleanup(func() { r.srv.Close() })
	return r
}

func (r *recorder) addr() string { return r.ln.Addr().String() }

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	c := captured{method: req.Method, uri: req.RequestURI, header: req.Header.Clone(), body: body}
	r.mu.Lock()
	r.reqs = append(r.reqs, c)
	r.mu.Unlock()
	resp, err := c.send(r.to)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// take returns the requests captured so far and forgets them.
func (r *recorder) take() []captured {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// send sends the captured request, byte for byte, to the control listener
// at addr.
func (c captured) send(addr string) (*http.Response, error) {
	req, err := http.NewRequest(c.method, "http://"+addr+c.uri, bytes.NewReader(c.body))
	if err != nil {
		return nil, err
	}
	req.Header = c.header.Clone()
	return http.DefaultClient.Do(req)
}

// replay sends every captured request to addr and returns their statuses.
func replay(t *testing.T, reqs []captured, addr string) []string {
	t.Helper()
	var out []string
	for _, c := range reqs {
		resp, err := c.send(addr)
		if err != nil {
			t.Fatalf("replay %s %s: %v", c.method, c.uri, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, fmt.Sprintf("%s %s: %d", c.method, c.uri, resp.StatusCode))
	}
	return out
}

// mustAllRefused fails unless every status line ends in 401.
func mustAllRefused(t *testing.T, what string, statuses []string) {
	t.Helper()
	for _, s := range statuses {
		if !strings.HasSuffix(s, ": 401") {
			t.Errorf("%s: %s, want 401", what, s)
		}
	}
}

// buildAt builds the generated site as if at the given time (Created is
// whole seconds: two releases are ordered only a second apart).
func (m *master) buildAt(t *testing.T, at time.Time) *orchard.Manifest {
	t.Helper()
	b := &release.Builder{Store: m.store, Logger: quietLog(), Now: func() time.Time { return at }}
	res, err := b.Build(context.Background(), &orchard.Site{Host: site}, m.gen)
	if err != nil {
		t.Fatal(err)
	}
	return res.Manifest
}

// TestCapturedRequestsReplay is the attack of issue 19 with real node
// processes: node0's signed stage and activate requests of release A are
// captured, B is published (A's page 1 is withdrawn), the master goes
// down, and the captured requests are replayed byte for byte to node1, to
// node0, and to node0 after a restart. Every one is refused (401) and both
// nodes keep serving B; a freshly signed activation of A (no replay) is
// refused too (412) unless it is an explicit rollback.
func TestCapturedRequestsReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const pages = 20
	c, m, procs := startProcCluster(t, pages)
	rec := startRecorder(t, c.nodes[0].control)
	m.pub.Nodes = []publish.Target{{Name: "node0", ControlAddr: rec.addr()}, {Name: "node1", ControlAddr: c.nodes[1].control}}

	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	a := m.buildAt(t, t0)
	if res := m.publish(t, a); !res.OK() {
		t.Fatalf("publish A: %+v", res.Nodes)
	}
	capturedA := rec.take()
	if len(capturedA) < 2 {
		t.Fatalf("captured %d requests of A's publish, want stage and activate at least", len(capturedA))
	}
	m.gen.touch(1) // page 1 changes: A's version of it is withdrawn
	b := m.buildAt(t, t0.Add(time.Minute))
	if res := m.publish(t, b); !res.OK() {
		t.Fatalf("publish B: %+v", res.Nodes)
	}
	rec.take()
	for i, p := range procs {
		if got := p.active(); got != b.ID() {
			t.Fatalf("node%d serves %s after publishing B, want %s", i, got, b.ID())
		}
	}
	m.srv.Close() // the master is down: no catch-up would undo a rollback
	owner := t

	t.Run("ToOtherNode", func(t *testing.T) {
		mustAllRefused(t, "node0's request replayed to node1", replay(t, capturedA, c.nodes[1].control))
		if got := procs[1].active(); got != b.ID() {
			t.Fatalf("node1 serves %s after the replay, want %s", got, b.ID())
		}
	})
	t.Run("ToSameNode", func(t *testing.T) {
		mustAllRefused(t, "replayed to node0", replay(t, capturedA, c.nodes[0].control))
		if got := procs[0].active(); got != b.ID() {
			t.Fatalf("node0 serves %s after the replay, want %s", got, b.ID())
		}
	})
	t.Run("ToSameNodeAfterRestart", func(t *testing.T) {
		// The restarted node must start in a later second than the
		// capture: that is the rule that replaces the lost replay cache.
		last := capturedTime(t, capturedA[len(capturedA)-1])
		testnet.WaitFor(t, "the clock passes the captured second", func() bool { return time.Now().Unix() > last })
		procs[0].kill()
		procs[0] = startNodeProc(t, owner, c, 0)
		mustAllRefused(t, "replayed to node0 after its restart", replay(t, capturedA, c.nodes[0].control))
		if got := procs[0].active(); got != b.ID() {
			t.Fatalf("restarted node0 serves %s after the replay, want %s", got, b.ID())
		}
	})
	t.Run("FreshOlderActivation", func(t *testing.T) {
		// A request signed now (by a holder of the secret) that stages A
		// and activates it on node1 without naming the release it
		// replaces: refused as going back in time.
		enc, id, err := release.EncodeManifest(a)
		if err != nil {
			t.Fatal(err)
		}
		ctl := c.nodes[1].control
		if got := signedStatus(t, c.secret, "node1", "POST", ctl, "/_orchard/v1/releases/"+site, release.ManifestContentType, enc); got != 200 {
			t.Fatalf("stage A: %d", got)
		}
		activate := "/_orchard/v1/releases/" + site + "/" + id + "/activate"
		if got := signedStatus(t, c.secret, "node1", "POST", ctl, activate, "", nil); got != http.StatusPreconditionFailed {
			t.Fatalf("activate older A without a rollback: %d, want 412", got)
		}
		if got := signedStatus(t, c.secret, "node1", "POST", ctl, activate+"?replaces="+a.ID(), "", nil); got != http.StatusPreconditionFailed {
			t.Fatalf("rollback naming a release that is not active: %d, want 412", got)
		}
		if got := procs[1].active(); got != b.ID() {
			t.Fatalf("node1 serves %s, want %s", got, b.ID())
		}
	})
	t.Run("ExplicitRollback", func(t *testing.T) {
		m.pub.Nodes[0].ControlAddr = c.nodes[0].control
		res, err := m.pub.Rollback(context.Background(), site, a.ID(), nil)
		if err != nil || !res.OK() {
			t.Fatalf("rollback: %v %+v", err, res)
		}
		for i, p := range procs {
			if got := p.active(); got != a.ID() {
				t.Fatalf("node%d serves %s after the rollback, want %s (%+v)", i, got, a.ID(), res.Nodes)
			}
		}
	})
}

// capturedTime returns the signing time of a captured request.
func capturedTime(t *testing.T, c captured) int64 {
	t.Helper()
	for _, f := range strings.Split(strings.TrimPrefix(c.header.Get("Authorization"), publish.AuthScheme+" "), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(f), "ts="); ok {
			ts, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return ts
		}
	}
	t.Fatalf("no ts in %q", c.header.Get("Authorization"))
	return 0
}

// signedStatus sends one request signed now for target and returns its status.
func signedStatus(t *testing.T, secret []byte, target, method, addr, path, contentType string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	publish.Sign(req, secret, target, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
