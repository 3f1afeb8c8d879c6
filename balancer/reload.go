package balancer

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"reflect"
	"slices"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orchardhq/orchard"
)

// ReloadResult names, by Options field, the settings a Reload found
// changed. Applied ones hold from the Reload on; Restart ones keep their
// running value until the balancer is restarted (they belong to a listener
// or to the process). Settings that did not change are in neither list.
type ReloadResult struct {
	Applied []string `json:"applied"`
	Restart []string `json:"restart"`
}

// Reload applies opts to the running balancer and returns which settings
// changed. Applied: ManagerPath, ManagerAllow, Pools (members, weights,
// standby, methods, queues, slow start, failure statuses), VHosts (hosts,
// deny patterns and their allow lists), Health, Retries, RetryAfter,
// DialTimeout, ResponseTimeout, DrainTimeout, MaxResponseBytes, CacheBytes
// (the cache is resized, started or dropped), RedirectHTTPS and the TLS
// certificate (read again from TLSCert and TLSKey) when a TLS listener
// runs. Needing a restart: Listen, TLSListen, Control, DataDir, MaxConns,
// ReadHeaderTimeout, IdleTimeout, WriteTimeout, MaxHeaderBytes,
// MaxRequestBytes (and TLSCert, TLSKey, RedirectHTTPS without a TLS
// listener). AccessLog, Logger, Clock, Metrics and Version are the
// process's wiring and stay those of New.
//
// Every member that stays (same pool, name and addresses) keeps its
// counters, health and manager changes. Invalid options, or a TLS
// certificate that does not load, are rejected with an EINVALID *Error
// and change nothing.
func (b *Balancer) Reload(opts Options) (ReloadResult, error) {
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return ReloadResult{}, err
	}
	var waits []func()
	defer func() {
		// After b.mu is released (deferred calls run last first).
		for _, wait := range waits {
			wait()
		}
	}()
	b.mu.Lock()
	defer b.mu.Unlock()
	prev := b.table.Load()
	if prev == nil {
		return ReloadResult{}, errors.New("balancer: reload before listen")
	}
	cur := prev.opts
	var res ReloadResult

	// What only a restart changes keeps its running value, by name.
	restart(&res, "Listen", &o.Listen, cur.Listen)
	restart(&res, "TLSListen", &o.TLSListen, cur.TLSListen)
	restart(&res, "Control", &o.Control, cur.Control)
	restart(&res, "DataDir", &o.DataDir, cur.DataDir)
	restart(&res, "MaxConns", &o.MaxConns, cur.MaxConns)
	restart(&res, "ReadHeaderTimeout", &o.ReadHeaderTimeout, cur.ReadHeaderTimeout)
	restart(&res, "IdleTimeout", &o.IdleTimeout, cur.IdleTimeout)
	restart(&res, "WriteTimeout", &o.WriteTimeout, cur.WriteTimeout)
	restart(&res, "MaxHeaderBytes", &o.MaxHeaderBytes, cur.MaxHeaderBytes)
	restart(&res, "MaxRequestBytes", &o.MaxRequestBytes, cur.MaxRequestBytes)
	o.AccessLog, o.Logger, o.Clock, o.Metrics, o.Version = cur.AccessLog, cur.Logger, cur.Clock, cur.Metrics, cur.Version

	var cert *tls.Certificate
	if b.tlsLn == nil || o.TLSCert == "" {
		// No listener to serve a certificate or redirect to.
		restart(&res, "TLSCert", &o.TLSCert, cur.TLSCert)
		restart(&res, "TLSKey", &o.TLSKey, cur.TLSKey)
		if b.tlsLn == nil {
			restart(&res, "RedirectHTTPS", &o.RedirectHTTPS, cur.RedirectHTTPS)
		}
	} else {
		c, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return ReloadResult{}, orchard.Errorf(orchard.EINVALID, "TLS certificate: %v", err)
		}
		if old := b.cert.Load(); old == nil || !slices.EqualFunc(old.Certificate, c.Certificate, slices.Equal) {
			res.Applied = append(res.Applied, "TLSCert")
		}
		cert = &c
	}

	for _, f := range []struct {
		name     string
		old, new any
	}{
		{"ManagerPath", cur.ManagerPath, o.ManagerPath},
		{"ManagerAllow", cur.ManagerAllow, o.ManagerAllow},
		{"Pools", cur.Pools, o.Pools},
		{"VHosts", cur.VHosts, o.VHosts},
		{"Health", cur.Health, o.Health},
		{"Retries", cur.Retries, o.Retries},
		{"RetryAfter", cur.RetryAfter, o.RetryAfter},
		{"DialTimeout", cur.DialTimeout, o.DialTimeout},
		{"ResponseTimeout", cur.ResponseTimeout, o.ResponseTimeout},
		{"DrainTimeout", cur.DrainTimeout, o.DrainTimeout},
		{"MaxResponseBytes", cur.MaxResponseBytes, o.MaxResponseBytes},
		{"CacheBytes", cur.CacheBytes, o.CacheBytes},
		{"RedirectHTTPS", cur.RedirectHTTPS, o.RedirectHTTPS},
	} {
		if !reflect.DeepEqual(f.old, f.new) {
			res.Applied = append(res.Applied, f.name)
		}
	}

	t, halted := b.buildLocked(o)
	waits = halted
	b.table.Store(t)
	if cert != nil {
		b.cert.Store(cert)
	}
	// Requests queued under the old table look again (they keep its
	// pools); new requests see the new one.
	for _, p := range prev.pools {
		p.wakeAll()
	}
	for _, p := range t.pools {
		p.wakeAll()
	}
	return res, nil
}

// restart keeps a setting that only a restart changes at its running
// value, naming it in res if the new options changed it.
func restart[T comparable](res *ReloadResult, name string, dst *T, running T) {
	if *dst != running {
		res.Restart = append(res.Restart, name)
		*dst = running
	}
}

// buildLocked makes the routing table for o, reusing members that stay and
// starting or stopping health checks for the others. Members that stay get
// new health checks if the health settings changed and a new client if the
// member timeouts or response limit did. b.mu must be held; the caller
// waits for the stopped health loops (the returned waits) after
// releasing it, since a loop may be waiting for b.mu itself.
func (b *Balancer) buildLocked(o Options) (*table, []func()) {
	var waits []func()
	prev := b.table.Load()
	t := &table{opts: o, byName: map[string]*pool{}}
	healthChanged := prev != nil && prev.opts.Health != o.Health
	clientChanged := prev != nil && (prev.opts.DialTimeout != o.DialTimeout ||
		prev.opts.ResponseTimeout != o.ResponseTimeout || prev.opts.MaxResponseBytes != o.MaxResponseBytes)
	keep := map[string]bool{}
	for _, pc := range o.Pools {
		var ms []*member
		for _, mc := range pc.Members {
			key := pc.Name + "/" + mc.Name
			m := b.members[key]
			if m != nil && (m.cfg.Addr != mc.Addr || m.cfg.HealthAddr != mc.HealthAddr) {
				waits = append(waits, m.halt())
				m = nil
			}
			if m == nil {
				m = b.newMember(pc.Name, mc, o)
				b.members[key] = m
				b.startHealth(m, o.Health)
			} else {
				m.cfg.Weight = mc.Weight // read under b.mu only
				m.standby.Store(mc.Standby)
				if clientChanged {
					// Requests in flight finish on the old client.
					m.hc.Swap(newHostClient(mc.Addr, o)).CloseIdleConnections()
					m.up.Swap(newUpstream(mc.Addr, o)).close()
				}
				if healthChanged {
					waits = append(waits, m.halt()) // the rise and fall counts stay with the member
					b.startHealth(m, o.Health)
				}
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
			waits = append(waits, m.halt())
			m.client().CloseIdleConnections()
			m.up.Load().close()
			delete(b.members, key)
		}
	}
	t.addVHosts(o.VHosts)

	switch {
	case o.CacheBytes <= 0:
		b.cache = nil
	case b.cache == nil:
		b.cache = newEdgeCache(o.CacheBytes)
	default:
		b.cache.setMax(o.CacheBytes)
	}
	t.cache = b.cache

	switch {
	case o.ManagerPath == "-":
	case prev != nil && prev.opts.ManagerPath == o.ManagerPath:
		t.manager = prev.manager
	default:
		t.manager = b.managerHandler(o.ManagerPath)
	}
	return t, waits
}

// newMember makes the running state of a member, with its HostClient.
func (b *Balancer) newMember(poolName string, mc orchard.Member, o Options) *member {
	m := &member{pool: poolName, cfg: mc, stop: func() {}}
	m.weight.Store(int32(mc.Weight))
	m.standby.Store(mc.Standby)
	m.hc.Store(newHostClient(mc.Addr, o))
	m.up.Store(newUpstream(mc.Addr, o))
	return m
}

// newHostClient returns the connection pool to a member at addr.
func newHostClient(addr string, o Options) *fasthttp.HostClient {
	dial := o.DialTimeout
	return &fasthttp.HostClient{
		Addr:                          addr,
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
		Dial: func(addr string) (net.Conn, error) {
			c, err := fasthttp.DialTimeout(addr, dial)
			if tc, ok := c.(*net.TCPConn); ok && err == nil {
				// A request held until the response is awaited: see deferConn.
				return newMemberConn(tc), nil
			}
			return c, err
		},
	}
}
