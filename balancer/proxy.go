package balancer

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orchardhq/orchard"
)

var (
	hRelease    = []byte(orchard.ReleaseHeader)
	hCache      = []byte("X-Orchard-Cache")
	hRetryAfter = []byte("Retry-After")
	hLocation   = []byte("Location")
	hCT         = []byte("Content-Type")
	hCC         = []byte("Cache-Control")
	vHit        = []byte("hit")
	vMiss       = []byte("miss")
	vRetry      = []byte("5")
	vTextPlain  = []byte("text/plain; charset=utf-8")
	vNoStore    = []byte("no-store")
)

// serve is the plain-HTTP traffic handler.
func (b *Balancer) serve(ctx *fasthttp.RequestCtx) { b.handle(ctx, false) }

// handle checks a request against every rule, then answers it from the
// manager, the edge cache or a member.
func (b *Balancer) handle(ctx *fasthttp.RequestCtx, tls bool) {
	b.stats.requests.Add(1)
	t := b.table.Load()
	client := clientAddr(ctx)
	tg, rej := parseTarget(&ctx.Request)
	switch {
	case rej != nil:
	case t.isManagerPath(tg.path):
		if !t.managerAllowed(client) {
			rej = rejManagerACL
			b.log.Warn("manager refused", "client", client)
			break
		}
		t.manager(ctx)
	case hasReservedPrefix(tg.path):
		rej = rejReserved
	default:
		vh, named := t.lookup(tg.host)
		switch {
		case vh == nil:
			rej = rejNoHost
		case tg.absolute && !named && b.targetRelease(tg.host) == "":
			rej = rejForeign // "*" does not make us a proxy for any host
		case vh.denied(tg.path, client):
			rej = rejDenied
		case t.opts.RedirectHTTPS && !tls:
			b.redirectHTTPS(ctx, tg.host)
		default:
			b.proxy(ctx, t, vh.pool, &tg, client, tls)
		}
	}
	if rej != nil {
		b.stats.rejected.Add(1)
		plain(ctx, rej.status, rej.msg)
	}
	if b.alog != nil {
		b.alog.write(ctx, client, b.now())
	}
}

// proxy sends the request to a member of p (or answers it from the edge
// cache) and leaves the response in ctx.
func (b *Balancer) proxy(ctx *fasthttp.RequestCtx, t *table, p *pool, tg *target, client netip.Addr, tls bool) {
	req := &ctx.Request.Header
	clientClose := sanitizeRequest(req, client, tls, req.Host())
	r := pickReq{now: time.Now().UnixNano(), site: tg.host, release: b.targetRelease(tg.host), client: client}
	idem := req.IsGet() || req.IsHead()
	if t.cache != nil {
		if r.release != "" && idem && b.cached(ctx, t, p, &r) {
			if clientClose {
				ctx.SetConnectionClose()
			}
			return
		}
		ctx.Response.Header.SetCanonical(hCache, vMiss)
	}
	b.forward(ctx, t, p, &r, idem)
	if t.cache != nil {
		ctx.Response.Header.SetCanonical(hCache, vMiss)
	}
	if clientClose {
		ctx.SetConnectionClose()
	}
}

// forward sends the request to members of p until one answers: a failed
// GET or HEAD (refused, reset, timeout, a FailOnStatus status) is retried
// on another member, up to Retries more, before the client sees anything;
// other methods are retried only when the connection was never made.
func (b *Balancer) forward(ctx *fasthttp.RequestCtx, t *table, p *pool, r *pickReq, idem bool) *member {
	attempts := 1 + t.opts.Retries
	var lastErr error
	for i := 0; i < attempts; i++ {
		m, err := p.acquire(r, b.ctx.Done())
		if err != nil {
			if lastErr == nil || !errors.Is(err, errNoMember) {
				b.unavailable(ctx, err)
				return nil
			}
			break // every member was tried
		}
		begin := time.Now()
		m.requests.Add(1)
		err = m.client().Do(&ctx.Request, &ctx.Response)
		el := time.Since(begin)
		p.done(m)
		now := begin.UnixNano() + int64(el)
		m.bytesIn.Add(uint64(len(ctx.Request.Body())))
		if err == nil {
			st := ctx.Response.StatusCode()
			m.lat.add(el)
			m.bytesOut.Add(uint64(len(ctx.Response.Body())))
			if p.failOn[st] {
				if m.failed(now, t.opts.RetryAfter) {
					b.log.Warn("member in error", "pool", p.Name, "member", m.cfg.Name, "status", st)
				}
				if idem && i+1 < attempts && r.ntried < len(r.tried) {
					r.exclude(m)
					b.stats.retries.Add(1)
					continue
				}
			} else {
				m.succeeded(now)
			}
			b.observe(m, r.site, ctx.Response.Header.PeekBytes(hRelease), begin.UnixNano())
			sanitizeResponse(&ctx.Response.Header)
			return m
		}
		lastErr = err
		if m.failed(now, t.opts.RetryAfter) {
			b.log.Warn("member in error", "pool", p.Name, "member", m.cfg.Name, "err", err)
		}
		if !b.retryOther(r, m, idem, err, i, attempts) {
			break
		}
	}
	b.stats.failed.Add(1)
	ctx.Response.Reset()
	if isTimeout(lastErr) {
		plain(ctx, fasthttp.StatusGatewayTimeout, "Gateway Timeout\n")
	} else {
		plain(ctx, fasthttp.StatusBadGateway, "Bad Gateway\n")
	}
	return nil
}

// retryOther records that m failed the request (attempt i of attempts)
// with err and reports whether forward's rules let another member have
// it: only when the connection was never made unless the method is
// idempotent, and while tried has room. The fast loop shares it.
func (b *Balancer) retryOther(r *pickReq, m *member, idem bool, err error, i, attempts int) bool {
	if (!idem && !isDialError(err)) || r.ntried == len(r.tried) {
		return false
	}
	r.exclude(m)
	if i+1 < attempts {
		b.stats.retries.Add(1)
	}
	return true
}

// unavailable answers 503 with Retry-After: no usable member, or the
// queue was full or too slow.
func (b *Balancer) unavailable(ctx *fasthttp.RequestCtx, err error) {
	b.stats.failed.Add(1)
	ctx.Response.Reset()
	ctx.Response.Header.SetCanonical(hRetryAfter, vRetry)
	ctx.Response.Header.SetCanonical(hCC, vNoStore)
	switch {
	case errors.Is(err, errNoMember):
		plain(ctx, fasthttp.StatusServiceUnavailable, "No server is available to answer this request.\n")
	default:
		plain(ctx, fasthttp.StatusServiceUnavailable, "The servers are busy; try again in a few seconds.\n")
	}
}

// redirectHTTPS answers a plain-HTTP request with a redirect to HTTPS.
func (b *Balancer) redirectHTTPS(ctx *fasthttp.RequestCtx, host []byte) {
	loc := make([]byte, 0, 16+len(host)+len(ctx.Request.Header.RequestURI()))
	loc = append(append(loc, "https://"...), host...)
	if _, port, err := net.SplitHostPort(b.TLSAddr()); err == nil && port != "443" {
		loc = append(append(loc, ':'), port...)
	}
	loc = append(loc, ctx.Request.Header.RequestURI()...)
	ctx.Response.Header.SetCanonical(hLocation, loc)
	plain(ctx, fasthttp.StatusPermanentRedirect, "Moved to HTTPS\n")
}

// plain sets a short text response.
func plain(ctx *fasthttp.RequestCtx, status int, msg string) {
	ctx.SetStatusCode(status)
	ctx.Response.Header.SetCanonical(hCT, vTextPlain)
	ctx.Response.SetBodyString(msg)
}

// clientAddr is the client's address, IPv4 unmapped.
func clientAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	if a, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}

func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, fasthttp.ErrDialTimeout)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return err != nil && errors.As(err, &t) && t.Timeout()
}
