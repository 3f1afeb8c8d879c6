package balancer

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Balancer is a running reverse proxy. Build one with New, start it with
// Listen, change its routing with Reload and stop it with Close.
type Balancer struct {
	opts Options // the options of New: listener settings, which only a restart changes
	log  *slog.Logger
	now  func() time.Time

	table   atomic.Pointer[table]           // the options of the last Reload and what they built
	targets atomic.Pointer[siteTable]       // site -> newest release, copy on write
	cache   *edgeCache                      // the current edge cache (nil = none), under mu; requests read table.cache
	cert    atomic.Pointer[tls.Certificate] // served by the TLS listener; Reload reloads it
	acme    pushedCerts                     // certificates and ACME challenges from the master (certs.go)
	alog    *accessLog
	stats   stats
	fast    fastConns                 // the plain listener's connections in the fast loop (fastloop.go)
	date    atomic.Pointer[dateStamp] // the fast loop's Date header
	csrfKey []byte

	// targetsGen counts the changes of targets, each counted after it is
	// stored (SitesVersion).
	targetsGen atomic.Uint64

	mu      sync.Mutex         // serialises Reload, manager actions, release changes
	members map[string]*member // "pool/name" -> member
	state   managerState       // operator changes, persisted in DataDir

	srv      *fasthttp.Server
	slow     *connQueue // srv's listener: connections the fast loop hands over
	ln       net.Listener
	tlsSrv   *http.Server
	tlsLn    net.Listener
	tlsFast  *fasthttp.Server // HTTP/1.1 over TLS (tlsconn.go)
	ctlSrv   *http.Server
	ctlLn    net.Listener
	ctx      context.Context // ends at Close: health loops, queued requests
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	closing  sync.Once
	closeErr error
	leaving  atomic.Bool // Leave was called: the health check fails, traffic is still served
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
		fast:    fastConns{conns: map[*fastConn]struct{}{}},
		csrfKey: make([]byte, 32),
	}
	_, _ = rand.Read(b.csrfKey)
	b.targets.Store(&siteTable{})
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
	t, waits := b.buildLocked(b.opts)
	b.mu.Unlock()
	for _, wait := range waits { // none on the first build
		wait()
	}
	b.table.Store(t)
	if len(b.opts.Peers) > 0 {
		// Before traffic: a balancer that was down while operators
		// drained or disabled members comes back with their actions.
		b.syncFromPeers(ctx)
	}

	var err error
	b.ln, err = net.Listen("tcp", b.opts.Listen)
	if err != nil {
		return fmt.Errorf("balancer: listen: %w", err)
	}
	// The fast loop serves what it can (fastloop.go) and queues the
	// other connections for fasthttp's server.
	b.srv = b.fastServer(b.servePlain)
	b.slow = newConnQueue(b.ln.Addr())
	if b.opts.Loops > 0 && loopsSupported {
		ls, err := b.startLoops(b.opts.Loops, b.slow)
		if err != nil {
			b.log.Warn("event loops not started: a goroutine per connection", "err", err)
		}
		b.fast.loops = ls
	}
	b.wg.Add(2)
	go func() {
		defer b.wg.Done()
		b.acceptFast(b.ln, b.slow)
	}()
	go func() {
		defer b.wg.Done()
		if err := b.srv.Serve(b.slow); err != nil {
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
		"pools", len(t.pools), "manager", t.opts.ManagerPath)
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

// fastServer is the HTTP/1.1 server of the plain listener, and of the TLS
// listener's HTTP/1.1 connections, with handler.
func (b *Balancer) fastServer(handler fasthttp.RequestHandler) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:               handler,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		Concurrency:           b.opts.MaxConns,
		ReadBufferSize:        b.opts.MaxHeaderBytes,
		// A page of the seed's size (~8 KB) and its header leave in one
		// write instead of three through the default 4 KiB buffer.
		WriteBufferSize: 32 << 10,
		// The buffers and the request context go back to fasthttp's pools
		// between requests, so an idle keep-alive client costs no buffer
		// (issue 23); deferConn reads the lone first byte this makes
		// fasthttp read through a pooled buffer, with no extra read.
		ReduceMemoryUsage:            true,
		ReadTimeout:                  b.opts.ReadHeaderTimeout,
		WriteTimeout:                 b.opts.WriteTimeout,
		IdleTimeout:                  b.opts.IdleTimeout,
		MaxRequestBodySize:           b.opts.MaxRequestBytes,
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
		SecureErrorLogMessage:        true,
		Logger:                       fasthttpLogger{b.log},
	}
}

// Close stops accepting connections, lets requests in flight finish (up
// to DrainTimeout), stops the health checks, flushes the access log and
// waits for every goroutine. It is idempotent.
func (b *Balancer) Close() error {
	b.closing.Do(func() {
		drain := b.opts.DrainTimeout
		if t := b.table.Load(); t != nil {
			drain = t.opts.DrainTimeout
		}
		ctx, cancel := context.WithTimeout(context.Background(), drain)
		defer cancel()
		if b.tlsSrv != nil {
			b.tlsLn.Close() // the accept loop's (tlsconn.go); net/http serves a queue
			if err := b.tlsSrv.Shutdown(ctx); err != nil {
				b.tlsSrv.Close()
			}
			b.tlsFast.ShutdownWithContext(ctx)
		}
		if b.ln != nil {
			b.ln.Close() // the fast loop's accept loop ends
			b.fast.shutdown(ctx)
			if b.fast.loops != nil {
				b.fast.loops.halt()
			}
		}
		if b.srv != nil {
			if err := b.srv.ShutdownWithContext(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				b.closeErr = err
			}
			// Also when Shutdown ran before Serve had registered it.
			b.slow.Close()
		}
		if b.ctlSrv != nil {
			b.ctlSrv.Close()
		}
		b.cancel()
		// The stops wait for health loops, which take b.mu to mark a
		// member down: waiting for them under b.mu deadlocked Close.
		b.mu.Lock()
		stops := make([]func(), 0, len(b.members))
		for _, m := range b.members {
			if m.stop != nil {
				stops = append(stops, m.stop)
			}
		}
		b.mu.Unlock()
		for _, stop := range stops {
			stop()
		}
		b.wg.Wait()
		if b.alog != nil {
			if err := b.alog.flush(); err != nil && b.closeErr == nil {
				b.closeErr = err
			}
		}
		b.mu.Lock()
		for _, m := range b.members {
			m.client().CloseIdleConnections()
			m.up.Load().close()
		}
		b.mu.Unlock()
	})
	return b.closeErr
}

// Leave makes the balancer's health check (orchard.HealthPath on the
// control listener) answer 503 while it goes on serving traffic, so that
// keepalived moves the virtual address to another balancer before Close
// drains this one: a planned stop then fails no request. It cannot be
// undone.
func (b *Balancer) Leave() {
	if !b.leaving.Swap(true) {
		b.log.Info("leaving the tier: health check fails from now on")
	}
}

// table returns the current routing table.
func (b *Balancer) currentTable() *table { return b.table.Load() }

// fasthttpLogger sends fasthttp's messages to slog at warn level.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Warn(fmt.Sprintf(format, args...))
}
