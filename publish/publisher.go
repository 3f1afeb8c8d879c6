package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

// Target is a node the master publishes to, or a balancer it refreshes.
type Target struct {
	Name        string // the node's name: requests are signed for it alone
	ControlAddr string // host:port of the node's control listener
}

// Publisher is the master's side of the protocol.
type Publisher struct {
	Nodes []Target
	// Balancers are asked, once a release is activated, to check their
	// members at once (orchard.RefreshPath), so that the edge serves it
	// when Publish returns; none: the edge learns at its next check.
	Balancers []Target
	Secret    []byte
	Blobs     BlobSource   // the master's blobs
	Catalog   Catalog      // records the active release for catch-up (nil: not recorded)
	Client    *http.Client // default NewHTTPClient(Concurrency)
	Logger    *slog.Logger // nil discards, as everywhere

	// Concurrency is how many blob requests one publish has in flight per
	// node (default 4).
	Concurrency int
	// NodeRequests is how many requests are in flight to one node at once
	// over every publish this Publisher runs (default 8): publishing many
	// sites at once neither floods a node nor holds more than
	// NodeRequests batches per node in the master's memory.
	NodeRequests int
	// BatchBytes is the size of a batch of small blobs (default 1 MiB); a blob
	// larger than half of it is sent alone.
	BatchBytes int

	initOnce sync.Once
	hc       *http.Client             // Client, or the default made once (keep-alive across publishes)
	slots    map[string]chan struct{} // per node (Target.ControlAddr): NodeRequests tokens
}

// Phases a node goes through in a publish, as reported in Event.Phase and
// NodeResult.State.
const (
	PhaseStage     = "stage"     // sending the manifest
	PhaseUpload    = "upload"    // sending missing blobs (Done/Total)
	PhaseStaged    = "staged"    // every blob present, waiting for the others
	PhaseActivate  = "activate"  // activating
	PhaseActivated = "activated" // serving the release
	PhaseDown      = "down"      // not reachable; it will catch up
	PhaseFailed    = "failed"    // answered with an error (Err)
)

// Event is one step of a publish on one node, for progress displays.
type Event struct {
	Node  string
	Phase string
	Done  int   // blobs sent so far (PhaseUpload)
	Total int   // blobs to send
	Bytes int64 // bytes sent so far
	Err   error
}

// NodeResult is how a publish went on one node.
type NodeResult struct {
	Name     string
	Addr     string
	Was      string // the node's active release before (from its stage answer; "" = none)
	State    string // PhaseActivated, PhaseDown, PhaseFailed or PhaseStaged
	Missing  int    // blobs the node lacked
	Sent     int64  // bytes of blobs sent
	Err      error
	Duration time.Duration
}

// Result is how a publish went.
type Result struct {
	Site     string
	Release  string
	Files    int
	Nodes    []NodeResult
	Edge     []EdgeResult // what each balancer routes the site to afterwards
	Duration time.Duration
}

// OK reports whether every node that was up activated the release.
func (r *Result) OK() bool {
	for _, n := range r.Nodes {
		if n.State != PhaseActivated && n.State != PhaseDown {
			return false
		}
	}
	return true
}

// Down lists the nodes that could not be reached.
func (r *Result) Down() []string {
	var out []string
	for _, n := range r.Nodes {
		if n.State == PhaseDown {
			out = append(out, n.Name)
		}
	}
	return out
}

// init makes, once, what every publish of p shares: the HTTP client (one
// per publish would open new connections to every node for every site and
// leave them idle) and the per-node request slots.
func (p *Publisher) init() {
	p.initOnce.Do(func() {
		p.hc = p.Client
		if p.hc == nil {
			p.hc = NewHTTPClient(p.nodeRequests() + 2)
		}
		p.slots = make(map[string]chan struct{}, len(p.Nodes))
		for _, t := range p.Nodes {
			p.slots[t.ControlAddr] = make(chan struct{}, p.nodeRequests())
		}
	})
}

func (p *Publisher) nodeRequests() int {
	if p.NodeRequests <= 0 {
		return 8
	}
	return p.NodeRequests
}

// acquire takes one of the request slots of the node at addr, waiting
// while all are taken; release gives it back. A node not in p.Nodes has
// no limit.
func (p *Publisher) acquire(ctx context.Context, addr string) (release func(), err error) {
	slot := p.slots[addr]
	if slot == nil {
		return func() {}, nil
	}
	select {
	case slot <- struct{}{}:
		return func() { <-slot }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Publisher) defaults() (*http.Client, *slog.Logger, int, int) {
	p.init()
	conc := p.Concurrency
	conc = orchard.OrDefault(conc, 4)
	hc := p.hc
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	batch := p.BatchBytes
	batch = orchard.OrDefault(batch, 1<<20)
	return hc, log.With("component", "publish"), conc, batch
}

// Publish makes m the active release of site on every node: it stages it on
// all of them at once (manifest, then only the blobs each lacks), records it
// as the master's active release, then activates it on every node that
// staged. Nodes that are down are reported as such and catch up later. The
// error is for the publish as a whole (invalid manifest, cancelled, the
// master's catalog failing); per-node failures are in the Result.
func (p *Publisher) Publish(ctx context.Context, site string, m *orchard.Manifest, progress func(Event)) (*Result, error) {
	if m.Site != site {
		return nil, fmt.Errorf("publish %s: manifest is for %s", site, m.Site)
	}
	// The compact encoding checks m as Validate does and computes its id
	// in the same pass; nodes decode it several times faster than JSON.
	body, id, err := release.EncodeManifest(m)
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", site, err)
	}
	return p.PublishEncoded(ctx, site, m, id, body, progress)
}

// PublishEncoded is Publish for a manifest the caller also holds in the
// binary encoding, as release.Store.ManifestEncoded returns it: encoded
// must be what release.DecodeManifest turned into m and id (each node
// decodes and checks it again, and answers the id it computed).
func (p *Publisher) PublishEncoded(ctx context.Context, site string, m *orchard.Manifest, id string, encoded []byte, progress func(Event)) (*Result, error) {
	return p.Send(ctx, site, m, id, encoded, SendOptions{Progress: progress})
}

// RollbackEncoded is PublishEncoded for a rollback: each node is told
// which release the activation replaces (the one it reported active when
// it staged), so it accepts going back to an older release, and only while
// that release is still active (see ReplacesParam).
func (p *Publisher) RollbackEncoded(ctx context.Context, site string, m *orchard.Manifest, id string, encoded []byte, progress func(Event)) (*Result, error) {
	return p.Send(ctx, site, m, id, encoded, SendOptions{Rollback: true, Progress: progress})
}

// SendOptions say how Send publishes a release.
type SendOptions struct {
	// Rollback makes it an explicit rollback (see RollbackEncoded).
	Rollback bool
	// SkipEdge leaves the balancers to learn of the release at their next
	// health check instead of asking them to check now: a publish of many
	// sites asks them once, at the end (RefreshBalancers), not once a site.
	SkipEdge bool
	// Progress receives each node's steps; nil: none.
	Progress func(Event)
}

// activateTimeout bounds the activation phase, which the caller's context
// does not cancel (see Send).
const activateTimeout = 2 * time.Minute

// Send is PublishEncoded (or RollbackEncoded) as opt says. Once every node
// that is up has staged the release, the activations are sent even if ctx
// is cancelled meanwhile (within activateTimeout): a Ctrl-C during them
// does not leave the site active on some nodes and not on the others; it
// stops a publish only before its activation begins.
func (p *Publisher) Send(ctx context.Context, site string, m *orchard.Manifest, id string, encoded []byte, opt SendOptions) (*Result, error) {
	start := time.Now()
	progress := opt.Progress
	if progress == nil {
		progress = func(Event) {}
	}
	var pmu sync.Mutex
	report := func(e Event) { pmu.Lock(); progress(e); pmu.Unlock() }
	if m.Site != site {
		return nil, fmt.Errorf("publish %s: manifest is for %s", site, m.Site)
	}
	if !orchard.ValidReleaseID(id) || !release.IsBinaryManifest(encoded) {
		return nil, fmt.Errorf("publish %s: release %q is not an encoded manifest", site, id)
	}
	body := encoded
	// A node of an older version takes only JSON: it refuses the binary
	// body as invalid (400), and is sent JSON instead.
	jsonBody := sync.OnceValues(func() ([]byte, error) { return json.Marshal(m) })
	hc, log, conc, batch := p.defaults()
	sizes := blobSizes(m)
	res := &Result{Site: site, Release: id, Files: release.ServedFiles(m), Nodes: make([]NodeResult, len(p.Nodes))}

	var wg sync.WaitGroup
	for i, t := range p.Nodes {
		res.Nodes[i] = NodeResult{Name: t.Name, Addr: t.ControlAddr}
		wg.Add(1)
		go func(nr *NodeResult) {
			defer wg.Done()
			t0 := time.Now()
			c := newClient(t.ControlAddr, t.Name, p.Secret, hc)
			err := p.stageOn(ctx, c, nr, site, id, body, jsonBody, sizes, conc, batch, report)
			nr.Duration = time.Since(t0)
			p.settle(nr, err, report, log)
		}(&res.Nodes[i])
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("publish %s: %w", site, err)
	}
	// From here on the publish completes whatever happens to ctx.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), activateTimeout)
	defer cancel()
	// The master records the release as active (for catch-up) while the
	// nodes activate it: a node that catches up meanwhile pulls it too.
	catErr := make(chan error, 1)
	if p.Catalog != nil {
		go func() { catErr <- p.Catalog.SetActive(site, id) }()
	} else {
		catErr <- nil
	}
	for i := range res.Nodes {
		nr := &res.Nodes[i]
		if nr.State != PhaseStaged {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			report(Event{Node: nr.Name, Phase: PhaseActivate})
			c := newClient(nr.Addr, nr.Name, p.Secret, hc)
			path := "/_orchard/v1/releases/" + url.PathEscape(site) + "/" + id + "/activate"
			if p.goesBack(site, m, id, nr.Was, opt.Rollback) {
				path += "?" + ReplacesParam + "=" + nr.Was
			}
			err := p.call(actx, nr.Addr, func() error { return c.doJSON(actx, "POST", path, nil, nil, 1<<20) })
			nr.Duration += time.Since(t0)
			if err == nil {
				nr.State = PhaseActivated
				report(Event{Node: nr.Name, Phase: PhaseActivated})
				log.Info("activated", "node", nr.Name, "site", site, "release", id)
				return
			}
			p.settle(nr, fmt.Errorf("activate: %w", err), report, log)
		}()
	}
	wg.Wait()
	if err := <-catErr; err != nil {
		return res, fmt.Errorf("publish %s: record active release: %w", site, err)
	}
	if !opt.SkipEdge && ctx.Err() == nil {
		for _, nr := range res.Nodes {
			if nr.State == PhaseActivated {
				res.Edge = p.refreshEdge(ctx, site)
				break
			}
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// call runs one request to the node at addr in one of its slots.
func (p *Publisher) call(ctx context.Context, addr string, do func() error) error {
	release, err := p.acquire(ctx, addr)
	if err != nil {
		return err
	}
	defer release()
	return do()
}

// goesBack reports whether activating release id (manifest m) of site on
// a node whose active release is was must be an explicit rollback: a
// rollback always is, and so is a publish of a release created before was
// (a build that came back to an earlier release, an edit undone), which
// the node would otherwise refuse as going back in time.
func (p *Publisher) goesBack(site string, m *orchard.Manifest, id, was string, rollback bool) bool {
	if was == "" || was == id {
		return false
	}
	if rollback {
		return true
	}
	if p.Catalog == nil {
		return false
	}
	wm, err := p.Catalog.Manifest(site, was)
	return err == nil && m.Created.Truncate(time.Second).Before(wm.Created.Truncate(time.Second))
}

// settle records how a phase ended on one node.
func (p *Publisher) settle(nr *NodeResult, err error, report func(Event), log *slog.Logger) {
	switch {
	case err == nil:
		nr.State = PhaseStaged
		report(Event{Node: nr.Name, Phase: PhaseStaged})
	case isDown(err):
		nr.State, nr.Err = PhaseDown, err
		report(Event{Node: nr.Name, Phase: PhaseDown, Err: err})
		log.Warn("node down", "node", nr.Name, "err", err)
	default:
		nr.State, nr.Err = PhaseFailed, err
		report(Event{Node: nr.Name, Phase: PhaseFailed, Err: err})
		log.Error("publish failed on node", "node", nr.Name, "err", err)
	}
}

// stageOn sends the manifest to one node, then the blobs it lacks.
func (p *Publisher) stageOn(ctx context.Context, c *client, nr *NodeResult, site, id string, body []byte, jsonBody func() ([]byte, error), sizes map[string]int64, conc, batchBytes int, report func(Event)) error {
	report(Event{Node: nr.Name, Phase: PhaseStage})
	var ans StageAnswer
	path := "/_orchard/v1/releases/" + url.PathEscape(site)
	err := p.call(ctx, c.addr, func() error {
		err := c.doJSONType(ctx, "POST", path, body, release.ManifestContentType, &ans, 64<<20)
		if errors.Is(err, ErrInvalid) {
			js, jerr := jsonBody()
			if jerr != nil {
				return jerr
			}
			err = c.doJSONType(ctx, "POST", path, js, "application/json", &ans, 64<<20)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	if ans.ID != id {
		return fmt.Errorf("stage: node computed release id %s, expected %s", ans.ID, id)
	}
	for _, h := range ans.Missing {
		if _, ok := sizes[h]; !ok {
			return fmt.Errorf("stage: node asked for blob %s, which the manifest does not name", h)
		}
	}
	nr.Missing = len(ans.Missing)
	nr.Was = ans.Active
	total := len(ans.Missing)
	report(Event{Node: nr.Name, Phase: PhaseUpload, Total: total})
	if total == 0 {
		return nil
	}
	var done, sent atomic.Int64
	tick := func(blobs int, bytes int64) {
		d, s := done.Add(int64(blobs)), sent.Add(bytes)
		report(Event{Node: nr.Name, Phase: PhaseUpload, Done: int(d), Total: total, Bytes: s})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	for _, group := range planBatches(ans.Missing, sizes, int64(batchBytes)) {
		g.Go(func() error {
			if len(group) == 1 && sizes[group[0]] > int64(batchBytes)/2 {
				return p.putOne(gctx, c, group[0], tick)
			}
			return p.putBatch(gctx, c, group, tick)
		})
	}
	err = g.Wait()
	nr.Sent = sent.Load()
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	return nil
}

func (p *Publisher) putOne(ctx context.Context, c *client, sha string, tick func(int, int64)) error {
	release, err := p.acquire(ctx, c.addr)
	if err != nil {
		return err
	}
	defer release()
	b, err := p.Blobs.Get(sha)
	if err != nil {
		return fmt.Errorf("read blob %s on the master: %w", sha, err)
	}
	resp, _, err := c.do(ctx, "PUT", "/_orchard/v1/blobs/"+sha, b, sha)
	if err != nil {
		return fmt.Errorf("blob %s: %w", sha, err)
	}
	resp.Body.Close()
	tick(1, int64(len(b)))
	return nil
}

// putBatch sends the blobs of group in one request. The body is built in
// the node's slot: the master holds at most NodeRequests of them per node.
func (p *Publisher) putBatch(ctx context.Context, c *client, group []string, tick func(int, int64)) error {
	release, err := p.acquire(ctx, c.addr)
	if err != nil {
		return err
	}
	defer release()
	var body []byte
	for _, sha := range group {
		b, err := p.Blobs.Get(sha)
		if err != nil {
			return fmt.Errorf("read blob %s on the master: %w", sha, err)
		}
		body = appendBatchItem(body, sha, b)
	}
	resp, _, err := c.do(ctx, "POST", "/_orchard/v1/blobs", body, "")
	if err != nil {
		return fmt.Errorf("batch of %d blobs: %w", len(group), err)
	}
	resp.Body.Close()
	tick(len(group), int64(len(body)))
	return nil
}

// blobSizes maps every blob a manifest names to its size.
func blobSizes(m *orchard.Manifest) map[string]int64 {
	s := make(map[string]int64, len(m.Files)*2)
	for _, e := range m.Files {
		s[e.SHA256] = e.Size
		if e.Gzip != "" {
			s[e.Gzip] = e.GzipSize
		}
	}
	return s
}

// planBatches groups blobs into batches of about limit bytes; a blob larger
// than half the limit goes alone.
func planBatches(missing []string, sizes map[string]int64, limit int64) [][]string {
	var out [][]string
	var cur []string
	var curBytes int64
	for _, h := range missing {
		sz := sizes[h]
		if sz > limit/2 {
			out = append(out, []string{h})
			continue
		}
		if len(cur) > 0 && (curBytes+sz+90 > limit || len(cur) >= maxBatchItems) {
			out = append(out, cur)
			cur, curBytes = nil, 0
		}
		cur = append(cur, h)
		curBytes += sz + 90
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// Rollback publishes release id of site again as an explicit rollback (see
// RollbackEncoded): its blobs are normally still on every node, so only the
// manifest travels before the activation.
func (p *Publisher) Rollback(ctx context.Context, site, id string, progress func(Event)) (*Result, error) {
	if p.Catalog == nil {
		return nil, errors.New("rollback needs the master's catalog")
	}
	m, err := p.Catalog.Manifest(site, id)
	if err != nil {
		return nil, fmt.Errorf("rollback %s to %s: %w", site, id, err)
	}
	if m.Site != site {
		return nil, fmt.Errorf("rollback %s: manifest is for %s", site, m.Site)
	}
	body, eid, err := release.EncodeManifest(m)
	if err != nil {
		return nil, fmt.Errorf("rollback %s: %w", site, err)
	}
	return p.RollbackEncoded(ctx, site, m, eid, body, progress)
}

// NodeState is what Status learned of one node.
type NodeState struct {
	Name   string
	Addr   string
	Status *NodeStatus // nil when Err is set
	Down   bool
	Err    error
}

// Status asks every node for its state at once.
func (p *Publisher) Status(ctx context.Context) []NodeState {
	hc, _, _, _ := p.defaults()
	out := make([]NodeState, len(p.Nodes))
	var wg sync.WaitGroup
	for i, t := range p.Nodes {
		out[i] = NodeState{Name: t.Name, Addr: t.ControlAddr}
		wg.Add(1)
		go func(ns *NodeState) {
			defer wg.Done()
			var st NodeStatus
			err := newClient(t.ControlAddr, t.Name, p.Secret, hc).doJSON(ctx, "GET", "/_orchard/v1/status", nil, &st, 16<<20)
			if err != nil {
				ns.Err, ns.Down = err, isDown(err)
				return
			}
			ns.Status = &st
		}(&out[i])
	}
	wg.Wait()
	return out
}
