package balancer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orchardhq/orchard"
)

// Balancer is a running reverse proxy. Build one with New, start it with
// Listen, change its routing with Reload and stop it with Close.
type Balancer struct {
	opts Options // listener settings, fixed by New
	log  *slog.Logger
	now  func() time.Time

	table   atomic.Pointer[table]
	targets atomic.Pointer[map[string]string] // site -> newest release, copy on write
	cache   *edgeCache
	alog    *accessLog
	stats   stats
	csrfKey []byte

	mu      sync.Mutex         // serialises Reload, manager actions, release changes
	members map[string]*member // "pool/name" -> member
	state   managerState       // operator changes, persisted in DataDir

	srv      *fasthttp.Server
	ln       net.Listener
	tlsSrv   *http.Server
	tlsLn    net.Listener
	ctlSrv   *http.Server
	ctlLn    net.Listener
	manager  fasthttp.RequestHandler
	ctx      context.Context // ends at Close: health loops, queued requests
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	closing  sync.Once
	closeErr error
}

// stats are balancer-wide counters for the manager and /metrics.
type stats struct {
	requests  atomic.Uint64
	rejected  atomic.Uint64 // refused by a rule (4xx from the balancer itself)
	failed    atomic.Uint64 // 502/503/504 from the balancer itself
	retries   atomic.Uint64
	cacheHit  atomic.Uint64
	cacheMiss atomic.Uint64
}

// New returns a balancer for opts with defaults filled in; it does no I/O.
// Listen reports invalid options.
func New(opts Options) *Balancer {
	opts = opts.withDefaults()
	b := &Balancer{
		opts:    opts,
		log:     opts.Logger.With("component", "balancer"),
		now:     opts.Clock,
		members: map[string]*member{},
		csrfKey: make([]byte, 32),
	}
	_, _ = rand.Read(b.csrfKey)
	empty := map[string]string{}
	b.targets.Store(&empty)
	if opts.CacheBytes > 0 {
		b.cache = newEdgeCache(opts.CacheBytes)
	}
	if opts.AccessLog != nil {
		b.alog = newAccessLog(opts.AccessLog)
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b
}

// Listen validates the options, loads the persisted manager state, starts
// the listeners and the health checks. It fails synchronously; Close
// cleans up after a failed Listen too.
func (b *Balancer) Listen(ctx context.Context) error {
	if err := b.opts.validate(); err != nil {
		return err
	}
	if err := b.loadState(); err != nil {
		return err
	}
	b.mu.Lock()
	t := b.buildLocked(b.opts)
	b.mu.Unlock()
	b.table.Store(t)
	b.manager = b.managerHandler()

	var err error
	b.ln, err = net.Listen("tcp", b.opts.Listen)
	if err != nil {
		return fmt.Errorf("balancer: listen: %w", err)
	}
	b.srv = &fasthttp.Server{
		Handler:               b.serve,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		Concurrency:           b.opts.MaxConns,
		ReadBufferSize:        b.opts.MaxHeaderBytes,
		// A page of the seed's size (~8 KB) and its header leave in one
		// write instead of three through the default 4 KiB buffer.
		WriteBufferSize:              32 << 10,
		ReadTimeout:                  b.opts.ReadHeaderTimeout,
		WriteTimeout:                 b.opts.WriteTimeout,
		IdleTimeout:                  b.opts.IdleTimeout,
		MaxRequestBodySize:           b.opts.MaxRequestBytes,
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
		SecureErrorLogMessage:        true,
		Logger:                       fasthttpLogger{b.log},
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		if err := b.srv.Serve(b.ln); err != nil {
			b.log.Error("traffic listener", "err", err)
		}
	}()
	if b.opts.TLSListen != "" {
		if err := b.listenTLS(); err != nil {
			return err
		}
	}
	if b.opts.Control != "" {
		if err := b.listenControl(); err != nil {
			return err
		}
	}
	if b.alog != nil {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.alog.flushLoop(b.ctx)
		}()
	}
	b.log.Info("balancer listening", "listen", b.Addr(), "tls", b.TLSAddr(), "control", b.ControlAddr(),
		"pools", len(t.pools), "manager", b.opts.ManagerPath)
	return nil
}

// Serve runs Listen (unless it ran already) and blocks until ctx ends,
// then drains and stops like Close.
func (b *Balancer) Serve(ctx context.Context) error {
	if b.ln == nil {
		if err := b.Listen(ctx); err != nil {
			b.Close()
			return err
		}
	}
	<-ctx.Done()
	return b.Close()
}

// Addr returns the traffic listener's address ("" before Listen).
func (b *Balancer) Addr() string { return addrOf(b.ln) }

// TLSAddr returns the TLS listener's address ("" if none).
func (b *Balancer) TLSAddr() string { return addrOf(b.tlsLn) }

// ControlAddr returns the control listener's address ("" if none).
func (b *Balancer) ControlAddr() string { return addrOf(b.ctlLn) }

func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// Close stops accepting connections, lets requests in flight finish (up
// to DrainTimeout), stops the health checks, flushes the access log and
// waits for every goroutine. It is idempotent.
func (b *Balancer) Close() error {
	b.closing.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), b.opts.DrainTimeout)
		defer cancel()
		if b.tlsSrv != nil {
			if err := b.tlsSrv.Shutdown(ctx); err != nil {
				b.tlsSrv.Close()
			}
		}
		if b.srv != nil {
			if err := b.srv.ShutdownWithContext(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				b.closeErr = err
			}
		}
		if b.ln != nil {
			// Also when Shutdown ran before Serve had registered it.
			b.ln.Close()
		}
		if b.ctlSrv != nil {
			b.ctlSrv.Close()
		}
		b.cancel()
		b.mu.Lock()
		for _, m := range b.members {
			if m.stop != nil {
				m.stop()
			}
		}
		b.mu.Unlock()
		b.wg.Wait()
		if b.alog != nil {
			if err := b.alog.flush(); err != nil && b.closeErr == nil {
				b.closeErr = err
			}
		}
		b.mu.Lock()
		for _, m := range b.members {
			m.hc.CloseIdleConnections()
		}
		b.mu.Unlock()
	})
	return b.closeErr
}

// Reload replaces pools, virtual hosts, health settings and routing
// options with those of opts, keeping the state of every member that stays
// (same pool, name and addresses): counters, health, manager changes.
// Listener settings (addresses, TLS, timeouts, limits, cache size) need a
// restart; Reload logs that they were ignored. Invalid options are
// rejected with an EINVALID *Error and change nothing.
func (b *Balancer) Reload(opts Options) error {
	opts.Listen = b.opts.Listen
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return err
	}
	if o.TLSListen != b.opts.TLSListen || o.Control != b.opts.Control || o.CacheBytes != b.opts.CacheBytes ||
		o.MaxConns != b.opts.MaxConns || o.ManagerPath != b.opts.ManagerPath {
		b.log.Warn("reload: listener, cache and manager path changes take effect at the next restart")
	}
	// Listener-level and process-level fields stay as they were.
	o.TLSListen, o.TLSCert, o.TLSKey, o.Control = b.opts.TLSListen, b.opts.TLSCert, b.opts.TLSKey, b.opts.Control
	o.ManagerPath, o.DataDir, o.AccessLog, o.Logger, o.Clock = b.opts.ManagerPath, b.opts.DataDir, b.opts.AccessLog, b.opts.Logger, b.opts.Clock
	o.CacheBytes, o.MaxConns, o.ReadHeaderTimeout, o.IdleTimeout = b.opts.CacheBytes, b.opts.MaxConns, b.opts.ReadHeaderTimeout, b.opts.IdleTimeout
	o.WriteTimeout, o.MaxHeaderBytes, o.MaxRequestBytes = b.opts.WriteTimeout, b.opts.MaxHeaderBytes, b.opts.MaxRequestBytes
	b.mu.Lock()
	t := b.buildLocked(o)
	b.mu.Unlock()
	b.table.Store(t)
	for _, p := range t.pools {
		p.wakeAll()
	}
	b.log.Info("reloaded", "pools", len(t.pools), "vhosts", len(o.VHosts))
	return nil
}

// buildLocked makes the routing table for o, reusing members that stay and
// starting or stopping health checks for the others. b.mu must be held.
func (b *Balancer) buildLocked(o Options) *table {
	t := &table{opts: o, byName: map[string]*pool{}}
	keep := map[string]bool{}
	for _, pc := range o.Pools {
		var ms []*member
		for _, mc := range pc.Members {
			key := pc.Name + "/" + mc.Name
			m := b.members[key]
			if m != nil && (m.cfg.Addr != mc.Addr || m.cfg.HealthAddr != mc.HealthAddr) {
				m.stop()
				m = nil
			}
			if m == nil {
				m = b.newMember(pc.Name, mc, o)
				b.members[key] = m
				b.startHealth(m, o.Health)
			} else {
				m.cfg.Weight = mc.Weight // read under b.mu only
				m.standby.Store(mc.Standby)
			}
			b.applyStateLocked(m)
			keep[key] = true
			ms = append(ms, m)
		}
		p := newPool(pc, ms)
		t.pools = append(t.pools, p)
		t.byName[pc.Name] = p
	}
	for key, m := range b.members {
		if !keep[key] {
			m.stop()
			m.hc.CloseIdleConnections()
			delete(b.members, key)
		}
	}
	t.addVHosts(o.VHosts)
	return t
}

// newMember makes the running state of a member, with its HostClient.
func (b *Balancer) newMember(poolName string, mc orchard.Member, o Options) *member {
	m := &member{pool: poolName, cfg: mc, stop: func() {}}
	m.weight.Store(int32(mc.Weight))
	m.standby.Store(mc.Standby)
	dial := o.DialTimeout
	m.hc = &fasthttp.HostClient{
		Addr:                          mc.Addr,
		NoDefaultUserAgentHeader:      true,
		MaxConns:                      4096,
		MaxConnWaitTimeout:            o.DialTimeout,
		MaxIdleConnDuration:           20 * time.Second,
		ReadTimeout:                   o.ResponseTimeout,
		WriteTimeout:                  o.ResponseTimeout,
		ReadBufferSize:                32 << 10,
		MaxResponseBodySize:           o.MaxResponseBytes,
		DisablePathNormalizing:        true,
		DisableHeaderNamesNormalizing: false,
		SecureErrorLogMessage:         true,
		ConnPoolStrategy:              fasthttp.LIFO,
		MaxIdemponentCallAttempts:     2,
		RetryIfErr: func(req *fasthttp.Request, attempts int, err error) (bool, bool) {
			// Once, for a keep-alive connection the member closed while
			// idle; anything else is for the balancer's own retries.
			stale := err == io.EOF || errors.Is(err, fasthttp.ErrConnectionClosed)
			return false, stale && (req.Header.IsGet() || req.Header.IsHead())
		},
		Dial: func(addr string) (net.Conn, error) { return fasthttp.DialTimeout(addr, dial) },
	}
	return m
}

// table returns the current routing table.
func (b *Balancer) currentTable() *table { return b.table.Load() }

// fasthttpLogger sends fasthttp's messages to slog at warn level.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Warn(fmt.Sprintf(format, args...))
}
