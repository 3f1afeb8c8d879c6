package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

// Defaults for Config fields left zero.
const (
	DefaultMaxConns          = 10000
	DefaultKeepAlive         = 30 * time.Second
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultMaxHeaderBytes    = 16 << 10
	DefaultCacheBytes        = 128 << 20
	DefaultSiteMetrics       = 20
	// RetryAfter is the Retry-After, in seconds, of a 503 for a site with
	// no active release.
	RetryAfter = "10"
)

// Config is what a node needs; cmd/orchard fills it from the cluster file.
type Config struct {
	Name string // node name, reported in health and status
	Dir  string // data directory: the release store (see release.Store)
	// Store, when set, is the release store to use (opened on Dir by the
	// caller, e.g. to share it with the publish protocol); else Open opens Dir.
	Store             *release.Store
	Listen            string        // site traffic address; default 127.0.0.1:0
	Control           string        // control address; "" for none
	Metrics           http.Handler  // serves /metrics on the control listener; nil = 404
	MaxConns          int           // concurrent connections; default 10000
	KeepAlive         time.Duration // idle keep-alive timeout; default 30s
	ReadHeaderTimeout time.Duration // time to read a request; default 10s
	MaxHeaderBytes    int           // request line and headers; default 16 KiB
	CacheBytes        int64         // hot blobs kept in memory; default 128 MiB
	// SiteMetrics is how many sites, the busiest, get series of their own
	// in /metrics; default DefaultSiteMetrics, -1 for none, a number at
	// least the node's sites for every site. The node's totals always
	// count every request.
	SiteMetrics int
	Version     string
	Logger      *slog.Logger
}

// Node serves the active release of every site it holds. Activate swaps a
// site's release atomically: a request sees the old release or the new one,
// never a mix, and the pointer on disk moves only after every blob is there.
type Node struct {
	cfg     Config
	log     *slog.Logger
	store   *release.Store
	cache   *cache
	started time.Time

	hosts   atomic.Pointer[hostTable]    // host or alias -> its site's slot; read by every request
	metrics requestMetrics               // request counters (metrics.go)
	control atomic.Pointer[http.Handler] // /_orchard/v1/ on the control listener (SetControlHandler)

	mu    sync.Mutex       // serialises state changes below
	sites map[string]*slot // host -> its slot (one per site known, active release or not)
	// hostRebuilds counts the host table's rebuilds from every site.
	hostRebuilds int
	blobs        blobTable // every blob an active release uses (blob.refs > 0), by blob.key
	// unknownAliases counts the lazy sites whose aliases are not known
	// (see warm.go); hostsReady is closed when it reaches zero, or the
	// warm-up ends: until then a host not in the table may be one of
	// their aliases.
	unknownAliases int
	hostsReady     chan struct{}
	hostsReadyOnce sync.Once
	// aliasesDirty is set when the aliases file (aliases.go) lacks a
	// release the node serves or holds one it does not.
	aliasesDirty bool
	relLog       releaseLog // the changes of active releases, for health checks (releaselog.go)
	// relCount and relSum are the number of sites with an active release
	// and the sum of their orchard.ReleaseHash (ReleasesSum), kept as
	// releases change.
	relCount int
	relSum   uint64

	warmers  int                // goroutines of the warm-up (warmWorkers; tests set 0 for none)
	warmStop context.CancelFunc // stops the warm-up (Close)
	warmDone chan struct{}      // closed when the warm-up has ended

	srv     *fasthttp.Server
	ln      net.Listener
	ctl     *http.Server
	ctlLn   net.Listener
	wg      sync.WaitGroup
	closed  sync.Once
	closeEr error
}

// New returns a node with defaults filled in; it does no I/O.
func New(cfg Config) *Node {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	cfg.MaxConns = orchard.OrDefault(cfg.MaxConns, DefaultMaxConns)
	cfg.KeepAlive = orchard.OrDefault(cfg.KeepAlive, DefaultKeepAlive)
	cfg.ReadHeaderTimeout = orchard.OrDefault(cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	cfg.MaxHeaderBytes = orchard.OrDefault(cfg.MaxHeaderBytes, DefaultMaxHeaderBytes)
	cfg.CacheBytes = orchard.OrDefault(cfg.CacheBytes, DefaultCacheBytes)
	if cfg.SiteMetrics == 0 {
		cfg.SiteMetrics = DefaultSiteMetrics
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "node", "node", cfg.Name),
		cache:      &cache{max: cfg.CacheBytes},
		sites:      map[string]*slot{},
		hostsReady: make(chan struct{}),
		warmDone:   make(chan struct{}),
		warmers:    warmWorkers(),
		relLog:     newReleaseLog(),
	}
	n.hosts.Store(&hostTable{})
	return n
}

// Open opens the data directory, learns the active release of every site
// from it and starts the listeners. It fails synchronously. It does not
// wait for every release to be loaded (see warm.go): a site's first
// request loads its release if the warm-up in the background has not.
func (n *Node) Open(ctx context.Context) error {
	n.store = n.cfg.Store
	if n.store == nil {
		st, err := release.OpenStore(n.cfg.Dir)
		if err != nil {
			return err
		}
		n.store = st
	}
	n.cache.src = n.store.Blobs()
	n.started = time.Now()
	if err := n.load(ctx); err != nil {
		return err
	}
	var err error
	n.srv = &fasthttp.Server{
		Handler:                       n.serve,
		ErrorHandler:                  serveError,
		Name:                          "orchard",
		Concurrency:                   n.cfg.MaxConns,
		ReadBufferSize:                n.cfg.MaxHeaderBytes,
		WriteBufferSize:               32 << 10, // a whole ~8 KB page and its header in one write(2)
		ReadTimeout:                   n.cfg.ReadHeaderTimeout,
		WriteTimeout:                  5 * time.Minute,
		IdleTimeout:                   n.cfg.KeepAlive,
		MaxRequestBodySize:            64 << 10,
		DisableHeaderNamesNormalizing: false,
		NoDefaultServerHeader:         true,
		NoDefaultContentType:          true,
		DisablePreParseMultipartForm:  true,
		CloseOnShutdown:               true,
		SecureErrorLogMessage:         true,
		Logger:                        fasthttpLogger{n.log},
	}
	n.ln, err = net.Listen("tcp", n.cfg.Listen)
	if err != nil {
		return fmt.Errorf("node %s: listen: %w", n.cfg.Name, err)
	}
	if n.cfg.Control != "" {
		n.ctlLn, err = net.Listen("tcp", n.cfg.Control)
		if err != nil {
			n.ln.Close()
			return fmt.Errorf("node %s: control listen: %w", n.cfg.Name, err)
		}
		n.ctl = &http.Server{
			Handler:           n.controlHandler(),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       5 * time.Minute, // blobs are uploaded here
			WriteTimeout:      5 * time.Minute,
			IdleTimeout:       60 * time.Second,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelWarn),
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			if err := n.ctl.Serve(n.ctlLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				n.log.Error("control listener", "err", err)
			}
		}()
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.srv.Serve(n.ln); err != nil {
			n.log.Error("traffic listener", "err", err)
		}
	}()
	n.log.Info("node serving", "listen", n.ln.Addr().String(), "control", n.ControlAddr(), "sites", len(n.sites))
	return nil
}

// Addr returns the traffic listener's address ("" before Open).
func (n *Node) Addr() string {
	if n.ln == nil {
		return ""
	}
	return n.ln.Addr().String()
}

// ControlAddr returns the control listener's address ("" if none).
func (n *Node) ControlAddr() string {
	if n.ctlLn == nil {
		return ""
	}
	return n.ctlLn.Addr().String()
}

// Store returns the node's release store, for staging manifests and blobs.
func (n *Node) Store() *release.Store { return n.store }

// Blobs returns the node's blob store.
func (n *Node) Blobs() *release.Blobs { return n.store.Blobs() }

// Close stops both listeners and the warm-up, waits for them, writes the
// aliases file when it changed (aliases.go) and is idempotent.
func (n *Node) Close() error {
	n.closed.Do(func() {
		if n.srv != nil {
			if err := n.srv.Shutdown(); err != nil {
				n.closeEr = err
			}
			// Shutdown closes only the listeners Serve has started on:
			// closed right after Open, Serve could start afterwards
			// and wait in Accept forever.
			n.ln.Close()
		}
		if n.ctl != nil {
			if err := n.ctl.Close(); err != nil && n.closeEr == nil {
				n.closeEr = err
			}
		}
		if n.warmStop != nil {
			n.warmStop()
		}
		n.wg.Wait()
		if n.warmStop != nil {
			n.mu.Lock()
			if n.aliasesDirty {
				n.saveAliasesLocked()
			}
			n.mu.Unlock()
		}
	})
	return n.closeEr
}

// load learns the active release of every site in the store, installs
// each as a lazy state (warm.go) and starts the warm-up that loads them. A
// site with releases but no active one is known, and answers 503 until
// activated.
func (n *Node) load(ctx context.Context) error {
	sites, ids, err := n.store.ActiveSites()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	known := n.readAliases()
	n.mu.Lock()
	defer n.mu.Unlock()
	used := 0
	for i, host := range sites {
		if ids[i] == "" {
			n.installLocked(host, &site{host: host})
			continue
		}
		st := lazySite(host, ids[i])
		if al, ok := known[ids[i]]; ok {
			st.aliases, st.aliasesKnown = al, true
			used++
		} else {
			n.unknownAliases++
		}
		n.installLocked(host, st)
	}
	n.aliasesDirty = n.unknownAliases > 0 || used < len(known)
	n.rebuildHostsLocked()
	n.startWarmLocked(sites)
	return nil
}

// Activate makes m, release id of site, the active release: it saves m,
// refuses with an error wrapping release.ErrBlobsMissing unless every blob
// is present, moves the pointer on disk, then swaps the serving state in
// memory. m must be valid (m.Validate) and id its id (m.ID()), as the
// publish receiver checks when it stages a release; encoded, when not nil,
// is m in the binary encoding it arrived in (release.DecodeManifest gave m
// and id) and is saved as it is, else m is encoded again.
func (n *Node) Activate(site, id string, m *orchard.Manifest, encoded []byte) error {
	if m.Site != site {
		return orchard.Errorf(orchard.EINVALID, "Manifest is for %q, not %q.", m.Site, site)
	}
	var err error
	if encoded != nil {
		err = n.store.SaveEncodedManifest(m, id, encoded)
	} else {
		err = n.store.SaveCheckedManifest(m, id)
	}
	if err != nil {
		return err
	}
	return n.activate(site, id, m)
}

// activate swaps in m, stored under id: its serving state is built first
// (reading its settings), then the pointer moves on disk (checking every
// blob), then the host table in memory.
func (n *Node) activate(site, id string, m *orchard.Manifest) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	st, err := n.newSiteLocked(m, id)
	if err != nil {
		if miss := n.store.Blobs().Missing(m); len(miss) > 0 {
			return fmt.Errorf("activate %s/%s: %d blobs missing: %w", site, id, len(miss), release.ErrBlobsMissing)
		}
		return err
	}
	if err := n.store.SetActiveManifest(m, id); err != nil {
		return err
	}
	if n.installLocked(site, st) && !n.addSiteLocked(site, n.sites[site], st.aliases) {
		n.rebuildHostsLocked()
	}
	n.aliasesDirty = true
	n.log.Info("activated release", "site", site, "release", id)
	return nil
}

// newSiteLocked builds the serving state of m (release id), reading its
// settings blob. The blobs it takes that no active release uses yet join
// n.blobs only when the site is installed (installLocked), so a release
// refused here leaves nothing behind.
func (n *Node) newSiteLocked(m *orchard.Manifest, id string) (*site, error) {
	s, err := n.settings(m)
	if err != nil {
		return nil, err
	}
	return n.newSiteWithLocked(m, id, s)
}

// settings reads the settings of release m.
func (n *Node) settings(m *orchard.Manifest) (*release.Settings, error) {
	se, ok := m.Files[release.SettingsKey]
	if !ok {
		return nil, orchard.Errorf(orchard.EINVALID, "Release of %s has no %s.", m.Site, release.SettingsKey)
	}
	data, err := n.store.Blobs().Get(se.SHA256)
	if err != nil {
		return nil, fmt.Errorf("read settings of %s: %w", m.Site, err)
	}
	return release.ParseSettings(m.Site, data)
}

// newSiteWithLocked is newSiteLocked for settings s already read.
func (n *Node) newSiteWithLocked(m *orchard.Manifest, id string, s *release.Settings) (*site, error) {
	fresh := map[string]*blob{}
	return newSite(m, id, s, func(sha string) (*blob, error) { return n.blobLocked(sha, fresh) })
}

// blobLocked returns the node's one *blob for sha (from n.blobs, else
// from fresh, else new in fresh), with the size of the stored blob (a
// manifest's claim never sets it, so one site's claim cannot change what
// another site serves from the same blob). It fails when the blob is not
// stored.
func (n *Node) blobLocked(sha string, fresh map[string]*blob) (*blob, error) {
	name, ok := parseBlobName(sha)
	if !ok {
		return nil, fmt.Errorf("blob %q: %w", sha, release.ErrInvalidHash)
	}
	if b := n.blobs.get(name.key()); b != nil && b.name == name {
		return b, nil
	}
	if b, ok := fresh[sha]; ok {
		return b, nil
	}
	size, err := n.store.Blobs().Size(sha)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", sha, err)
	}
	if size > maxBlobSize {
		return nil, orchard.Errorf(orchard.EINVALID, "Blob %s holds %d bytes; a node serves blobs of at most %d.",
			sha, size, maxBlobSize)
	}
	b := newBlob(name, uint32(size))
	fresh[sha] = b
	return b, nil
}

// installLocked makes st the serving state of host: it swaps the pointer
// in the host's slot (creating the slot for a new host), counts the
// references of st's blobs and releases those of the state it replaces,
// dropping blobs no active release uses any more. The work is that of
// the two releases of host, whatever the number of other sites. It
// reports whether the host table must change (addSiteLocked, else
// rebuildHostsLocked): the host is new or its aliases changed.
func (n *Node) installLocked(host string, st *site) (rebuild bool) {
	sl := n.sites[host]
	if sl == nil {
		sl = &slot{}
		n.sites[host] = sl
	}
	st.slot = sl
	old := sl.site.Load()
	n.refLocked(st, 1)
	sl.site.Store(st)
	if old == nil || old.id != st.id {
		n.relLog.note(host)
		if old != nil && old.id != "" {
			n.relCount--
			n.relSum -= orchard.ReleaseHash(host, old.id)
		}
		if st.id != "" {
			n.relCount++
			n.relSum += orchard.ReleaseHash(host, st.id)
		}
	}
	if old == nil {
		return true
	}
	n.refLocked(old, -1)
	if old.lazy && !old.aliasesKnown {
		// Its aliases join the table when the last such site is
		// loaded, in one rebuild (not one per site of the warm-up).
		n.unknownAliases--
		if n.unknownAliases == 0 {
			n.rebuildHostsLocked()
			n.hostsReadyOnce.Do(func() { close(n.hostsReady) })
		}
		return false
	}
	return !slices.Equal(old.aliases, st.aliases)
}

// refLocked adds d to the references of every blob s serves; a blob
// whose count reaches zero leaves n.blobs and the cache.
func (n *Node) refLocked(s *site, d int32) {
	for i := range s.entries {
		e := &s.entries[i]
		n.refBlobLocked(e.body, d)
		if e.gz != nil {
			n.refBlobLocked(e.gz, d)
		}
	}
}

func (n *Node) refBlobLocked(b *blob, d int32) {
	if b.refs.Load() == 0 && d > 0 {
		// A blob whose key another holds (two names sharing 64 bits)
		// is served all the same, just not shared with other sites.
		n.blobs.add(b)
	}
	if b.refs.Add(d) == 0 {
		n.blobs.remove(b)
		n.cache.drop(b) // after refs is zero: see cache.drop
	}
}

// rebuildHostsLocked builds the host table from n.sites: it runs when a
// host or an alias comes or goes, never for a new release of a site
// whose aliases stay. Hosts win over aliases; between two sites claiming
// the same alias the first by host name wins.
func (n *Node) rebuildHostsLocked() {
	hosts := make(map[string]*slot, len(n.sites)*2)
	names := make([]string, 0, len(n.sites))
	for h, sl := range n.sites {
		names = append(names, h)
		hosts[h] = sl
	}
	sort.Strings(names)
	for _, h := range names {
		sl := n.sites[h]
		for _, a := range sl.site.Load().aliases {
			if other, taken := hosts[a]; taken {
				if other != sl {
					n.log.Warn("alias claimed twice", "alias", a, "site", h, "kept", other.site.Load().host)
				}
				continue
			}
			hosts[a] = sl
		}
	}
	n.hosts.Store(&hostTable{base: hosts})
	n.hostRebuilds++
}

// Releases returns the active release id of every site that has one.
func (n *Node) Releases() map[string]string {
	rels, _, _ := n.ReleasesSince("")
	return rels
}

// ReleasesSum returns how many sites have an active release and the sum
// of their orchard.ReleaseHash (what monitor.ReleasesDigest makes of
// Releases), without listing them.
func (n *Node) ReleasesSum() (count int, sum uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.relCount, n.relSum
}

// ReleasesSince returns the active releases of the sites whose release
// changed since version (every site when version is "" or not one this
// node can answer from: delta false), "" for a site that has none any
// more, and the version of the list now.
func (n *Node) ReleasesSince(version string) (rels map[string]string, now string, delta bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	now = n.relLog.version()
	if version != "" {
		if sites, ok := n.relLog.since(version); ok {
			rels = make(map[string]string, len(sites))
			for _, h := range sites {
				id := ""
				if sl := n.sites[h]; sl != nil {
					id = sl.site.Load().id
				}
				rels[h] = id
			}
			return rels, now, true
		}
	}
	rels = n.releasesLocked()
	return rels, now, false
}

// releasesLocked returns every site's active release; n.mu is held.
func (n *Node) releasesLocked() map[string]string {
	out := make(map[string]string, len(n.sites))
	for h, sl := range n.sites {
		if id := sl.site.Load().id; id != "" {
			out[h] = id
		}
	}
	return out
}

// ActiveCreated returns the active release of site and when it was
// created (whole seconds); ok is false when the site has none. The publish
// protocol uses it to refuse going back to an older release without an
// explicit rollback, also after a restart.
func (n *Node) ActiveCreated(site string) (id string, created time.Time, ok bool) {
	n.mu.Lock()
	sl := n.sites[site]
	n.mu.Unlock()
	if sl == nil {
		return "", time.Time{}, false
	}
	s := sl.site.Load()
	if s.lazy {
		s = n.loaded(s)
	}
	if s.id == "" {
		return "", time.Time{}, false
	}
	return s.id, s.modified, true
}

// Manifest returns release id of site as the node's store holds it
// (ENOTFOUND when it does not): the publish protocol reads back the
// release it activated last when the next one is staged, instead of
// keeping every site's manifest in memory. Callers must not modify it.
func (n *Node) Manifest(site, id string) (*orchard.Manifest, error) {
	return n.store.Manifest(site, id)
}

// SetControlHandler makes h serve /_orchard/v1/ on the control listener
// (the publish protocol: publish.Node.Handler); until it is called, those
// paths answer 404. It may be called before or after Open.
func (n *Node) SetControlHandler(h http.Handler) { n.control.Store(&h) }

// fasthttpLogger routes fasthttp's messages to slog.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...))
}
