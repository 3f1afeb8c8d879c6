package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

// Blobs is a node's content-addressed blob store (release.Blobs satisfies it).
type Blobs interface {
	// Has reports whether the blob named sha is stored.
	Has(sha string) bool
	// PutVerified stores the content read from r under sha, keeping nothing
	// when it does not hash to sha or is longer than maxBytes.
	PutVerified(sha string, r io.Reader, maxBytes int64) error
}

// State is a node's set of active releases (node.Node satisfies it). The
// receiver (Node) owns everything before activation: staged manifests,
// their ids and encodings, and the order of activations. A State that
// can also read back the manifest of a release it holds (a method
// Manifest(site, id string) (*orchard.Manifest, error); node.Node reads
// its release store) spares each stage of a site the look-up of the
// blobs it already serves.
type State interface {
	// Activate makes m, release id of site, the active release, in memory
	// and on disk, or refuses (changing nothing) when a blob of m is
	// missing. m has passed m.Validate and id is m.ID(); encoded, when not
	// nil, is m in the binary encoding it arrived in (release.EncodeManifest
	// of m), to be saved as it is.
	Activate(site, id string, m *orchard.Manifest, encoded []byte) error
	// Releases returns the active release id of every site.
	Releases() map[string]string
	// ActiveCreated returns the active release of site and when it was
	// created; ok is false when the site has none. It orders activations
	// after a restart too, when the receiver has staged nothing yet.
	ActiveCreated(site string) (id string, created time.Time, ok bool)
}

// Limits of the node side, in bytes.
const (
	DefaultMaxManifestBytes = 64 << 20
	DefaultMaxBlobBytes     = 256 << 20
	DefaultMaxBatchBytes    = 8 << 20
	maxStagedPerSite        = 4
)

// NodeConfig holds what a node's side of the protocol needs.
type NodeConfig struct {
	Name    string        // the node's name: signed requests must name it (see Sign)
	Secret  []byte        // the cluster secret
	Blobs   Blobs         // where verified blobs go
	State   State         // the active releases
	Master  string        // the master's control address for catch-up ("" = none)
	CatchUp time.Duration // how often to ask the master (default 5s)
	Version string        // reported by status
	Logger  *slog.Logger  // nil discards, as everywhere
	Client  *http.Client  // for catch-up (default NewHTTPClient(8))

	MaxManifestBytes int64 // default DefaultMaxManifestBytes
	MaxBlobBytes     int64 // default DefaultMaxBlobBytes
	MaxBatchBytes    int64 // default DefaultMaxBatchBytes
	Fetchers         int   // blobs pulled at once during catch-up (default 8)

	// GC, when set, removes the old releases of sites (nil: of every
	// site) and the blobs no release refers to. Run calls it after
	// releases were activated, with the sites they were of (see gc.go).
	GC func(sites []string) error
}

// Node is a web node's side of the protocol: the signed /_orchard/v1/
// handler that stages and activates releases, and the catch-up loop that
// pulls missed releases from the master.
type Node struct {
	cfg     NodeConfig
	log     *slog.Logger
	started time.Time
	verify  *Verifier

	mu      sync.Mutex                           // guards staged and active (held briefly: see siteLock)
	staged  map[string]map[string]*stagedRelease // site -> id -> manifest
	nStaged atomic.Int64                         // releases in staged, for /metrics without waiting on mu
	// active is, for each site, the release this node last activated:
	// its id and creation time, not its manifest. A node holds every
	// site it serves here, idle or not; keeping each one's manifest
	// (a map of every file) made this the node's largest cost per site
	// at 10,000 sites (issue 23). A stage reads the manifest back from
	// the store when it needs it (stageMissing).
	active map[string]lastActive

	siteLocks [siteLockStripes]sync.Mutex // see siteLock

	syncMu   sync.Mutex
	lastSync NodeSync
	gcSites  map[string]struct{} // sites with a release activated since the last GC
	caughtUp string              // the version of the master's list last caught up with (CatchUp)
}

// siteLockStripes is how many locks order the activations of all sites.
const siteLockStripes = 64

// lastActive is what the receiver keeps of the release it activated last
// for a site.
type lastActive struct {
	id      string
	created time.Time // the manifest's Created
}

// manifestReader is optionally implemented by a State that can read back
// the manifest of a release it holds (node.Node reads its release store).
type manifestReader interface {
	// Manifest returns release id of site as stored; callers must not
	// modify it.
	Manifest(site, id string) (*orchard.Manifest, error)
}

type stagedRelease struct {
	m       *orchard.Manifest
	id      string // m.ID()
	encoded []byte // m as received in the binary encoding, or nil
	when    time.Time
}

// NodeSync describes the last catch-up round.
type NodeSync struct {
	At    time.Time `json:"at,omitempty"`
	Error string    `json:"error,omitempty"`
}

// NewNode returns a Node; it does no I/O.
func NewNode(cfg NodeConfig) *Node {
	cfg.CatchUp = orchard.OrDefault(cfg.CatchUp, 5*time.Second)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Client == nil {
		cfg.Client = NewHTTPClient(8)
	}
	cfg.MaxManifestBytes = orchard.OrDefault(cfg.MaxManifestBytes, DefaultMaxManifestBytes)
	cfg.MaxBlobBytes = orchard.OrDefault(cfg.MaxBlobBytes, DefaultMaxBlobBytes)
	cfg.MaxBatchBytes = orchard.OrDefault(cfg.MaxBatchBytes, DefaultMaxBatchBytes)
	cfg.Fetchers = orchard.OrDefault(cfg.Fetchers, 8)
	maxBody := max(cfg.MaxManifestBytes, cfg.MaxBlobBytes, cfg.MaxBatchBytes)
	return &Node{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "publish", "node", cfg.Name),
		started: time.Now(),
		verify:  NewVerifier(cfg.Secret, cfg.Name, maxBody),
		staged:  map[string]map[string]*stagedRelease{},
		active:  map[string]lastActive{},
		gcSites: map[string]struct{}{},
	}
}

// Handler returns the signed handler for /_orchard/v1/ on the node's control
// listener.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /_orchard/v1/releases/{site}", n.handleStage)
	mux.HandleFunc("POST /_orchard/v1/releases/{site}/{id}/activate", n.handleActivate)
	mux.HandleFunc("PUT /_orchard/v1/blobs/{sha}", n.handlePutBlob)
	mux.HandleFunc("POST /_orchard/v1/blobs", n.handleBatch)
	mux.HandleFunc("GET /_orchard/v1/status", n.handleStatus)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, fmt.Errorf("%w: no endpoint %s %s", ErrNotFound, r.Method, r.URL.Path), nil)
	})
	return requireVerified(n.verify, mux)
}

// StageAnswer is the answer to a staged manifest.
type StageAnswer struct {
	ID      string   `json:"id"`
	Missing []string `json:"missing"`
	// Active is the site's active release on the node ("" = none): a
	// rollback names it as the release it replaces.
	Active string `json:"active,omitempty"`
}

func (n *Node) handleStage(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(r.Body, r.ContentLength, n.cfg.MaxManifestBytes)
	if err != nil {
		writeError(w, err, nil)
		return
	}
	var (
		m       *orchard.Manifest
		id      string
		encoded []byte
	)
	if isBinaryManifest(r.Header.Get("Content-Type")) {
		m, id, err = decodeBinaryManifest(b, r.PathValue("site"))
		encoded = b
	} else if m, err = decodeManifest(b, r.PathValue("site")); err == nil {
		id = m.ID()
	}
	if err != nil {
		writeError(w, err, nil)
		return
	}
	missing := n.stageMissing(m)
	n.stage(m, id, encoded)
	n.log.Debug("staged", "site", m.Site, "release", id, "missing", len(missing))
	active := n.activeID(m.Site)
	writeSignedJSON(w, r, n.cfg.Secret, http.StatusOK, StageAnswer{ID: id, Missing: missing, Active: active})
}

// readBody reads a manifest body of at most limit bytes, into a buffer of
// its announced length (size, -1 when unknown) when that is within limit.
func readBody(body io.Reader, size, limit int64) ([]byte, error) {
	if size < 0 || size > limit {
		size = 0
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+1))
	if _, err := buf.ReadFrom(io.LimitReader(body, limit+1)); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: manifest over %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}

// isBinaryManifest reports whether a Content-Type names the compact
// manifest encoding (release.ManifestContentType); any other body is JSON.
func isBinaryManifest(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), release.ManifestContentType)
}

// decodeBinaryManifest decodes and checks a binary manifest for site (the
// same rules as decodeManifest) and returns its id.
func decodeBinaryManifest(b []byte, site string) (*orchard.Manifest, string, error) {
	m, id, err := release.DecodeManifest(b)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %s", ErrInvalid, orchard.ErrorMessage(err))
	}
	if err := checkManifestSite(m, site); err != nil {
		return nil, "", err
	}
	return m, id, nil
}

// checkManifestSite refuses a manifest that is not for site.
func checkManifestSite(m *orchard.Manifest, site string) error {
	host, err := orchard.NormalizeHost(site)
	if err != nil || host != m.Site || site != m.Site {
		return fmt.Errorf("%w: manifest is for site %q, not %q", ErrInvalid, m.Site, site)
	}
	return nil
}

func decodeManifest(b []byte, site string) (*orchard.Manifest, error) {
	var m orchard.Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: manifest is not valid JSON: %v", ErrInvalid, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, orchard.ErrorMessage(err))
	}
	if err := checkManifestSite(&m, site); err != nil {
		return nil, err
	}
	return &m, nil
}

// missingOf is optionally implemented by a Blobs that can check many blobs
// at once faster than one Has each (release.Blobs lists its directories).
// It takes names given more than once and returns the missing ones sorted,
// each once.
type missingOf interface {
	MissingOf(shas []string) []string
}

// stageMissing is missing for the answer to a staged manifest: the blobs
// of the files that are as they are in the release this node activated
// last, and that is still active, count as present without a look-up
// (their manifest is stored and active, so they were all present when it
// was activated and no GC removes them). Activation still checks every
// blob; a wrong answer here could only make it refuse, never activate an
// incomplete release. That release's manifest is read back from the
// State (one file read per stage of the site) rather than kept for
// every site; without one, every blob is looked up.
func (n *Node) stageMissing(m *orchard.Manifest) []string {
	n.mu.Lock()
	prev, ok := n.active[m.Site]
	n.mu.Unlock()
	mr, canRead := n.cfg.State.(manifestReader)
	if !ok || !canRead || n.activeID(m.Site) != prev.id {
		return n.missing(m)
	}
	pm, err := mr.Manifest(m.Site, prev.id)
	if err != nil {
		n.log.Warn("cannot read the active release back: looking every blob up", "site", m.Site, "release", prev.id, "err", err)
		return n.missing(m)
	}
	var shas []string // missingOf takes duplicates
	for k, e := range m.Files {
		if pe, ok := pm.Files[k]; ok && pe.SHA256 == e.SHA256 && pe.Gzip == e.Gzip {
			continue
		}
		shas = append(shas, e.SHA256)
		if e.Gzip != "" {
			shas = append(shas, e.Gzip)
		}
	}
	return n.missingOf(shas)
}

// missingOf returns those of shas (duplicates allowed) that are not
// stored, sorted and without duplicates.
func (n *Node) missingOf(shas []string) []string {
	if mo, ok := n.cfg.Blobs.(missingOf); ok {
		return mo.MissingOf(shas)
	}
	var out []string
	for _, h := range shas {
		if !n.cfg.Blobs.Has(h) {
			out = append(out, h)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// missing returns the blobs of m that are not stored, sorted.
func (n *Node) missing(m *orchard.Manifest) []string { return n.missingOf(m.BlobHashes()) }

// stage remembers m until it is activated; a few per site, the oldest
// forgotten first.
func (n *Node) stage(m *orchard.Manifest, id string, encoded []byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.staged[m.Site]
	if s == nil {
		s = map[string]*stagedRelease{}
		n.staged[m.Site] = s
	}
	s[id] = &stagedRelease{m: m, id: id, encoded: encoded, when: time.Now()}
	for len(s) > maxStagedPerSite {
		oldest := ""
		for k, v := range s {
			if oldest == "" || v.when.Before(s[oldest].when) {
				oldest = k
			}
		}
		delete(s, oldest)
	}
	n.countStagedLocked()
}

func (n *Node) handlePutBlob(w http.ResponseWriter, r *http.Request) {
	sha := r.PathValue("sha")
	if !orchard.ValidSHA256(sha) {
		writeError(w, fmt.Errorf("%w: %q is not a hex SHA-256", ErrInvalid, sha), nil)
		return
	}
	if r.Header.Get(ContentHashHeader) != sha {
		writeError(w, fmt.Errorf("%w: body hash is not the blob's name", ErrHashMismatch), nil)
		return
	}
	if r.ContentLength > n.cfg.MaxBlobBytes {
		writeError(w, fmt.Errorf("%w: blob over %d bytes", ErrTooLarge, n.cfg.MaxBlobBytes), nil)
		return
	}
	if err := n.putBlob(sha, r.Body); err != nil {
		n.log.Warn("blob refused", "sha256", sha, "err", err)
		writeError(w, err, nil)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// putBlob stores one blob read from r, telling apart a body that failed
// (its own error), content that does not match sha (ErrHashMismatch) and a
// store that could not write (ErrStorage).
func (n *Node) putBlob(sha string, r io.Reader) error {
	if n.cfg.Blobs.Has(sha) {
		_, err := io.Copy(io.Discard, r) // read to the end: the body must still verify
		return err
	}
	hr := &hashingReader{r: r, h: sha256.New()}
	err := n.cfg.Blobs.PutVerified(sha, hr, n.cfg.MaxBlobBytes)
	switch {
	case hr.err != nil:
		return hr.err
	case err == nil:
		return nil
	case hr.eof && hex.EncodeToString(hr.h.Sum(nil)) != sha:
		return fmt.Errorf("%w: %s", ErrHashMismatch, sha)
	case hr.n > n.cfg.MaxBlobBytes:
		return fmt.Errorf("%w: blob over %d bytes", ErrTooLarge, n.cfg.MaxBlobBytes)
	default:
		return fmt.Errorf("%w: %v", ErrStorage, err)
	}
}

// UnsyncedBlobs is optionally implemented by a Blobs whose writes can skip
// the fsync of each blob: batches are then written without them and made
// durable with one Sync just before a release is activated, instead of two
// fsyncs per blob. A blob put without sync must not count as present (Has)
// until Sync returns, so activation never finds a blob that is not durable.
type UnsyncedBlobs interface {
	// PutVerifiedNoSync is PutVerified without the fsyncs.
	PutVerifiedNoSync(sha string, r io.Reader, maxBytes int64) error
	// Sync makes every blob written so far durable.
	Sync() error
}

// putBatch stores the blobs of a batch (already checked against their
// names), a few at a time: durably before it returns, or, with
// UnsyncedBlobs, to be made durable by the Sync before activation.
func (n *Node) putBatch(items []batchItem) error {
	ub, unsynced := n.cfg.Blobs.(UnsyncedBlobs)
	g := new(errgroup.Group)
	g.SetLimit(4)
	for _, it := range items {
		g.Go(func() error {
			if !unsynced {
				return n.putBlob(it.sha, bytes.NewReader(it.data))
			}
			if int64(len(it.data)) > n.cfg.MaxBlobBytes {
				return fmt.Errorf("%w: blob over %d bytes", ErrTooLarge, n.cfg.MaxBlobBytes)
			}
			if err := ub.PutVerifiedNoSync(it.sha, bytes.NewReader(it.data), n.cfg.MaxBlobBytes); err != nil {
				if sum := sha256.Sum256(it.data); hex.EncodeToString(sum[:]) != it.sha {
					return fmt.Errorf("%w: %s", ErrHashMismatch, it.sha)
				}
				return fmt.Errorf("%w: %v", ErrStorage, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// hashingReader hashes what passes through it and remembers how reading ended.
type hashingReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	eof bool
	err error // the first read error other than io.EOF
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	if err == io.EOF {
		h.eof = true
	} else if err != nil && h.err == nil {
		h.err = err
	}
	return n, err
}

func (n *Node) handleBatch(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(io.LimitReader(r.Body, n.cfg.MaxBatchBytes+1))
	if err != nil {
		writeError(w, err, nil)
		return
	}
	if int64(len(b)) > n.cfg.MaxBatchBytes {
		writeError(w, fmt.Errorf("%w: batch over %d bytes", ErrTooLarge, n.cfg.MaxBatchBytes), nil)
		return
	}
	items, err := parseBatch(b)
	if err != nil {
		writeError(w, err, nil)
		return
	}
	// Check every blob before keeping any. A store that writes without
	// fsync verifies each blob as it writes it, and keeps none visible
	// before the Sync of an activation: hashing twice would only cost time.
	if _, unsynced := n.cfg.Blobs.(UnsyncedBlobs); !unsynced {
		for _, it := range items {
			if sum := sha256.Sum256(it.data); hex.EncodeToString(sum[:]) != it.sha {
				writeError(w, fmt.Errorf("%w: %s", ErrHashMismatch, it.sha), nil)
				return
			}
		}
	}
	if err := n.putBatch(items); err != nil {
		n.log.Warn("batch refused", "blobs", len(items), "err", err)
		writeError(w, err, nil)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ReplacesParam is the query parameter of an activation that makes it an
// explicit rollback: it names the release the activation replaces, and the
// node refuses it unless that release is the site's active one. Without
// it, an activation must not go back to a release created before the
// active one. The query is part of the signed path.
const ReplacesParam = "replaces"

func (n *Node) handleActivate(w http.ResponseWriter, r *http.Request) {
	site, id := r.PathValue("site"), r.PathValue("id")
	if !orchard.ValidReleaseID(id) {
		writeError(w, fmt.Errorf("%w: %q is not a release id", ErrInvalid, id), nil)
		return
	}
	how := activation{}
	if q := r.URL.Query(); q.Has(ReplacesParam) {
		how.replaces = q.Get(ReplacesParam)
		if !orchard.ValidReleaseID(how.replaces) || len(q[ReplacesParam]) != 1 {
			writeError(w, fmt.Errorf("%w: %s=%q is not a release id", ErrInvalid, ReplacesParam, how.replaces), nil)
			return
		}
	}
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		writeError(w, err, nil)
		return
	}
	missing, err := n.activate(site, id, how)
	if err != nil {
		n.log.Warn("activate refused", "site", site, "release", id, "replaces", how.replaces, "err", err)
		if len(missing) > 100 {
			missing = missing[:100]
		}
		writeError(w, err, missing)
		return
	}
	n.log.Info("activated", "site", site, "release", id, "replaces", how.replaces)
	writeSignedJSON(w, r, n.cfg.Secret, http.StatusOK, map[string]string{"site": site, "id": id})
}

// activation says how a release is being activated.
type activation struct {
	// catchUp: the master's answer to this node's own request, which
	// decides the release (it may be older: a rollback the node missed);
	// it applies only while the active release is still prev, so catch-up
	// never undoes a newer publish.
	catchUp bool
	prev    string
	// replaces: an explicit rollback, valid only while the active release
	// is this one ("" = a forward publish).
	replaces string
}

// activeCreated returns when the active release cur of site was created
// (prev: the release this node activated last for site, zero for none);
// ok is false when that is not known.
func (n *Node) activeCreated(site, cur string, prev lastActive) (time.Time, bool) {
	if prev.id != "" && prev.id == cur {
		return prev.created, true
	}
	if id, created, ok := n.cfg.State.ActiveCreated(site); ok && id == cur {
		return created, true
	}
	return time.Time{}, false
}

// checkOrder refuses to activate st over the active release cur of site
// (prev: the release this node activated last for site, zero for none)
// when that would go back in time without an explicit rollback, or when
// a rollback does not replace cur. The site's lock must be held.
func (n *Node) checkOrder(site, cur string, st *stagedRelease, prev lastActive, how activation) error {
	if how.replaces != "" {
		if cur != how.replaces {
			return fmt.Errorf("%w: rollback to %s replaces %s, but the active release is %q", ErrStale, st.id, how.replaces, cur)
		}
		return nil
	}
	if cur == "" {
		return nil
	}
	// Created has whole seconds (node.Node keeps no more); two builds
	// in the same second are not ordered.
	if created, ok := n.activeCreated(site, cur, prev); ok && st.m.Created.Truncate(time.Second).Before(created.Truncate(time.Second)) {
		return fmt.Errorf("%w: release %s was created before the active %s; only a rollback naming %s may activate it", ErrStale, st.id, cur, cur)
	}
	return nil
}

// siteLock returns the lock that orders the activations of site: those
// of one site happen one at a time, those of others meanwhile (each
// activation waits on the node's disk; serialising every site's behind
// one lock made a node activate one site at a time whatever the master
// sent). Sites share siteLockStripes locks, so their number stays
// bounded.
func (n *Node) siteLock(site string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(site))
	return &n.siteLocks[h.Sum32()%siteLockStripes]
}

// activeID returns the active release of site ("" for none), asking
// for that site alone: State.Releases lists every site the node holds,
// which a stage or an activation of one site must not pay for.
func (n *Node) activeID(site string) string {
	id, _, _ := n.cfg.State.ActiveCreated(site)
	return id
}

// activate makes the staged release id of site active, as how says. It
// returns the missing blobs with release.ErrBlobsMissing.
func (n *Node) activate(site, id string, how activation) ([]string, error) {
	// Blobs of batches were written without fsync: make them durable (and
	// present) now, once for the whole release, and before taking the
	// site's lock: the activations of other sites do not wait on this
	// fsync, and those that sync at the same time share it (a Sync makes everything
	// written before it durable; this release's blobs were all written
	// before its activation was asked for).
	if ub, ok := n.cfg.Blobs.(UnsyncedBlobs); ok {
		if err := ub.Sync(); err != nil {
			return nil, fmt.Errorf("%w: activate %s: %v", ErrStorage, id, err)
		}
	}
	l := n.siteLock(site)
	l.Lock()
	defer l.Unlock()
	n.mu.Lock()
	st, prev := n.staged[site][id], n.active[site]
	n.mu.Unlock()
	if st == nil {
		if !how.catchUp && n.activeID(site) == id {
			// Catch-up activated it first (the master records a
			// release as active while it asks the nodes to activate
			// it) and took it off the staged ones: done all the same.
			return nil, nil
		}
		return nil, fmt.Errorf("%w: release %s of %s is not staged here", ErrNotFound, id, site)
	}
	cur := n.activeID(site)
	switch {
	case how.catchUp && cur != how.prev:
		return nil, nil
	case how.catchUp:
	case cur == id: // already active (catch-up got there first): nothing to do
		n.activated(site, st) // same files as the active release, so stageMissing may trust it
		return nil, nil
	default:
		if err := n.checkOrder(site, cur, st, prev, how); err != nil {
			return nil, err
		}
	}
	if err := n.cfg.State.Activate(site, st.id, st.m, st.encoded); err != nil {
		n.mu.Lock()
		delete(n.active, site)
		n.mu.Unlock()
		if missing := n.missing(st.m); len(missing) > 0 {
			return missing, fmt.Errorf("%w: %d blobs of release %s", release.ErrBlobsMissing, len(missing), id)
		}
		return nil, fmt.Errorf("%w: activate %s: %v", ErrStorage, id, err)
	}
	n.activated(site, st)
	n.syncMu.Lock()
	n.gcSites[site] = struct{}{}
	n.syncMu.Unlock()
	return nil, nil
}

// activated records st as the release of site this node activated last
// (its id and creation time: see Node.active), and no longer staged. A
// site left with nothing staged leaves staged (countStagedLocked, on
// every stage and activation, walks it: a site published once must not
// cost every later publish).
func (n *Node) activated(site string, st *stagedRelease) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.staged[site], st.id)
	if len(n.staged[site]) == 0 {
		delete(n.staged, site)
	}
	n.countStagedLocked()
	n.active[site] = lastActive{id: st.id, created: st.m.Created}
}

// NodeStatus is the answer of GET /_orchard/v1/status on a node.
type NodeStatus struct {
	Name     string              `json:"name"`
	Role     string              `json:"role"`
	Version  string              `json:"version,omitempty"`
	Uptime   float64             `json:"uptime_seconds"`
	Releases map[string]string   `json:"releases"`
	Staged   map[string][]string `json:"staged,omitempty"`
	Sync     NodeSync            `json:"sync"`
}

// Status returns the node's state.
func (n *Node) Status() NodeStatus {
	st := NodeStatus{
		Name:     n.cfg.Name,
		Role:     "node",
		Version:  n.cfg.Version,
		Uptime:   time.Since(n.started).Seconds(),
		Releases: n.cfg.State.Releases(),
		Staged:   map[string][]string{},
	}
	n.mu.Lock()
	for site, ids := range n.staged {
		for id := range ids {
			st.Staged[site] = append(st.Staged[site], id)
		}
		sort.Strings(st.Staged[site])
	}
	n.mu.Unlock()
	n.syncMu.Lock()
	st.Sync = n.lastSync
	n.syncMu.Unlock()
	return st
}

// Collector returns the receiver's metric for a node's /metrics:
// orchard_node_staged_releases, the releases staged here and not active.
func (n *Node) Collector() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "orchard_node_staged_releases",
		Help: "Releases staged and not active.",
	}, func() float64 { return float64(n.nStaged.Load()) })
}

// countStagedLocked updates nStaged after staged changed; n.mu is held.
func (n *Node) countStagedLocked() {
	total := 0
	for _, ids := range n.staged {
		total += len(ids)
	}
	n.nStaged.Store(int64(total))
}

func (n *Node) handleStatus(w http.ResponseWriter, r *http.Request) {
	writeSignedJSON(w, r, n.cfg.Secret, http.StatusOK, n.Status())
}

// Run asks the master for missed releases now and every CatchUp interval
// until ctx ends; it returns nil then. Without a master it just waits.
func (n *Node) Run(ctx context.Context) error {
	if n.cfg.Master == "" {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		gc := gcClock{now: time.Now}
		for {
			n.maybeGC(&gc)
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	}
	t := time.NewTicker(n.cfg.CatchUp)
	defer t.Stop()
	gc := gcClock{now: time.Now}
	for {
		n.maybeGC(&gc)
		err := n.CatchUp(ctx)
		if ctx.Err() != nil {
			return nil
		}
		n.syncMu.Lock()
		n.lastSync = NodeSync{At: time.Now()}
		if err != nil {
			n.lastSync.Error = err.Error()
		}
		n.syncMu.Unlock()
		if err != nil {
			n.log.Warn("catch-up failed", "master", n.cfg.Master, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
