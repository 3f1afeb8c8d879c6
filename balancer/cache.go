package balancer

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orchardhq/orchard"
)

// The edge cache. Releases are immutable, so a response of release R for
// (host, path, encoding) never changes: entries are keyed by all four and
// never revalidated, and a publish changes the key instead of needing a
// purge. Only GET 200 and 404 responses that carry X-Orchard-Release (the
// site's newest), no Set-Cookie, a Cache-Control without no-store,
// no-cache or private, and no Vary but Accept-Encoding are kept. One
// request fills a missing entry while the others for it wait. Memory is
// bounded by evicting sampled least-recently-used entries.

const (
	cacheShards   = 32
	entryOverhead = 256 // bytes counted per entry besides key, headers and body
	waitForFill   = 10 * time.Second
)

type edgeCache struct {
	max    atomic.Int64 // bound in bytes; Reload may change it
	size   atomic.Int64
	count  atomic.Int64
	shards [cacheShards]cacheShard

	pmu     sync.Mutex // serialises put, so the bound holds at every moment
	fmu     sync.Mutex
	flights map[string]*flight

	hits, misses, evictions, stored atomic.Uint64
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]*cacheEntry
}

// cacheEntry is one cached response; it never changes once stored.
type cacheEntry struct {
	key    string
	status int
	hdrs   [][2][]byte // canonical name, value
	etag   []byte
	body   []byte
	size   int64
	used   atomic.Uint64 // coarseNow of the last hit

	// The fast loop's answers (fastloop.go): status line and headers, up
	// to the Date, Connection and the blank line it adds.
	wire, wire304 []byte
}

// flight is a fill in progress; e is set (or left nil) before done closes.
type flight struct {
	done chan struct{}
	e    *cacheEntry
}

func newEdgeCache(max int64) *edgeCache {
	c := &edgeCache{flights: map[string]*flight{}}
	c.max.Store(max)
	for i := range c.shards {
		c.shards[i].m = map[string]*cacheEntry{}
	}
	return c
}

func (c *edgeCache) shard(key []byte) *cacheShard {
	return &c.shards[fnv64(fnvOffset, key)%cacheShards]
}

// get returns the entry for key, or nil.
func (c *edgeCache) get(key []byte) *cacheEntry {
	s := c.shard(key)
	s.mu.RLock()
	e := s.m[string(key)]
	s.mu.RUnlock()
	if e != nil {
		if now := coarseNow(); e.used.Load() != now { // one write per entry per millisecond at most
			e.used.Store(now)
		}
	}
	return e
}

// put stores e and evicts until the cache is within its bound.
func (c *edgeCache) put(e *cacheEntry) {
	max := c.max.Load()
	if e.size > max/8 {
		return // one entry may not take more than an eighth
	}
	e.used.Store(coarseNow())
	c.pmu.Lock()
	defer c.pmu.Unlock()
	for c.size.Load()+e.size > max {
		if !c.evictOne() {
			return
		}
	}
	s := c.shard([]byte(e.key))
	s.mu.Lock()
	if old := s.m[e.key]; old != nil {
		c.size.Add(-old.size)
		c.count.Add(-1)
	}
	s.m[e.key] = e
	c.size.Add(e.size)
	c.count.Add(1)
	s.mu.Unlock()
	c.stored.Add(1)
}

// setMax changes the bound and evicts until the cache is within it.
func (c *edgeCache) setMax(max int64) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.max.Store(max)
	for c.size.Load() > max && c.evictOne() {
	}
}

// evictOne removes the least recently used of a few sampled entries.
func (c *edgeCache) evictOne() bool {
	start := rand.IntN(cacheShards)
	for i := 0; i < cacheShards; i++ {
		s := &c.shards[(start+i)%cacheShards]
		s.mu.Lock()
		var victim *cacheEntry
		n := 0
		for _, e := range s.m { // map order is random: a sample
			if victim == nil || e.used.Load() < victim.used.Load() {
				victim = e
			}
			if n++; n == 8 {
				break
			}
		}
		if victim != nil {
			delete(s.m, victim.key)
			s.mu.Unlock()
			c.size.Add(-victim.size)
			c.count.Add(-1)
			c.evictions.Add(1)
			return true
		}
		s.mu.Unlock()
	}
	return false
}

// join returns the fill in progress for key, or starts one (leader).
func (c *edgeCache) join(key string) (f *flight, leader bool) {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	if f := c.flights[key]; f != nil {
		return f, false
	}
	f = &flight{done: make(chan struct{})}
	c.flights[key] = f
	return f, true
}

// finish ends a fill, handing e (nil: not cacheable) to the waiters.
func (c *edgeCache) finish(key string, f *flight, e *cacheEntry) {
	f.e = e
	c.fmu.Lock()
	delete(c.flights, key)
	c.fmu.Unlock()
	close(f.done)
}

// appendKey builds the key of a request: host, request URI (path and
// query, already canonical), encoding and release, NUL-separated.
func appendKey(dst, host, uri []byte, gzip bool, release string) []byte {
	dst = append(dst, host...)
	dst = append(dst, 0)
	dst = append(dst, uri...)
	dst = append(dst, 0)
	if gzip {
		dst = append(dst, 'g')
	}
	dst = append(dst, 0)
	return append(dst, release...)
}

var (
	hAcceptEncoding = []byte("Accept-Encoding")
	hRange          = []byte("Range")
	hINM            = []byte("If-None-Match")
	hIMS            = []byte("If-Modified-Since")
	hETag           = []byte("ETag")
	vGzip           = []byte("gzip")
)

// cached answers a GET or HEAD from the edge cache, filling the entry
// first when it is missing (one request fills, the others wait). It
// reports false when the request must go to a member as usual.
func (b *Balancer) cached(ctx *fasthttp.RequestCtx, t *table, p *pool, r *pickReq) bool {
	req := &ctx.Request.Header
	if len(req.PeekBytes(hRange)) > 0 {
		return false
	}
	gz := orchard.AcceptsGzip(req.PeekBytes(hAcceptEncoding))
	var kb [512]byte
	key := appendKey(kb[:0], r.site, req.RequestURI(), gz, r.release)
	c := t.cache
	if e := c.get(key); e != nil {
		c.hits.Add(1)
		b.stats.cacheHit.Add(1)
		serveEntry(ctx, e)
		return true
	}
	if !req.IsGet() {
		c.misses.Add(1)
		b.stats.cacheMiss.Add(1)
		return false
	}
	return b.fill(ctx, t, p, r, string(key), gz)
}

// fill is the miss path of cached: join or lead the fill of key.
func (b *Balancer) fill(ctx *fasthttp.RequestCtx, t *table, p *pool, r *pickReq, key string, gz bool) bool {
	c := t.cache
	req := &ctx.Request.Header
	f, leader := c.join(key)
	if !leader {
		select {
		case <-f.done:
		case <-time.After(waitForFill):
		}
		if f.e != nil {
			c.hits.Add(1)
			b.stats.cacheHit.Add(1)
			serveEntry(ctx, f.e)
			return true
		}
		c.misses.Add(1)
		b.stats.cacheMiss.Add(1)
		return false
	}
	c.misses.Add(1)
	b.stats.cacheMiss.Add(1)
	// The leader asks for exactly the encoding of its key and for the
	// whole response, whatever the client's conditions; the client's
	// If-None-Match is then applied to the entry.
	if gz {
		req.SetCanonical(hAcceptEncoding, vGzip)
	} else {
		req.DelBytes(hAcceptEncoding)
	}
	inm := append([]byte(nil), req.PeekBytes(hINM)...)
	req.DelBytes(hINM)
	req.DelBytes(hIMS)
	var e *cacheEntry
	defer func() { c.finish(key, f, e) }()
	if b.forward(ctx, t, p, r, true) == nil {
		return true // the error response is in ctx
	}
	e = newEntry(key, &ctx.Response, gz, r.release)
	if e == nil {
		ctx.Response.Header.SetCanonical(hCache, vMiss)
		return true
	}
	c.put(e)
	if len(inm) > 0 {
		req.SetCanonical(hINM, inm)
	}
	ctx.Response.Reset()
	serveEntry(ctx, e)
	ctx.Response.Header.SetCanonical(hCache, vMiss)
	return true
}

// serveEntry writes a cached response; If-None-Match matching its ETag
// gives 304. The body is shared, never copied.
func serveEntry(ctx *fasthttp.RequestCtx, e *cacheEntry) {
	resp := &ctx.Response
	for _, h := range e.hdrs {
		resp.Header.SetCanonical(h[0], h[1])
	}
	resp.Header.SetCanonical(hCache, vHit)
	if inm := ctx.Request.Header.PeekBytes(hINM); len(inm) > 0 && len(e.etag) > 0 && orchard.ETagMatches(inm, e.etag) {
		resp.SetStatusCode(fasthttp.StatusNotModified)
		resp.SkipBody = true
		return
	}
	resp.SetStatusCode(e.status)
	resp.SetBodyRaw(e.body)
}

// newEntry makes a cache entry of a member's response, or returns nil if
// the response may not be cached.
func newEntry(key string, resp *fasthttp.Response, gz bool, release string) *cacheEntry {
	st := resp.StatusCode()
	if st != fasthttp.StatusOK && st != fasthttp.StatusNotFound {
		return nil
	}
	h := &resp.Header
	if string(h.PeekBytes(hRelease)) != release || !cacheableControl(h.PeekBytes(hCC)) {
		return nil
	}
	if len(h.Peek("Set-Cookie")) > 0 || len(h.Peek("Content-Range")) > 0 {
		return nil
	}
	if v := h.Peek("Vary"); len(v) > 0 && !eqFold(bytes.TrimSpace(v), "Accept-Encoding") {
		return nil
	}
	if enc := h.Peek("Content-Encoding"); len(enc) > 0 && !(gz && eqFold(enc, "gzip")) {
		return nil
	}
	body := resp.Body()
	e := &cacheEntry{key: key, status: st, body: append([]byte(nil), body...)}
	e.size = int64(len(key)+len(body)) + entryOverhead
	for k, v := range h.All() {
		switch {
		case eqFold(k, "Content-Length"), eqFold(k, "Date"), eqFold(k, "Connection"), eqFold(k, "Server"),
			eqFold(k, "Transfer-Encoding"), eqFold(k, "Keep-Alive"), eqFold(k, "X-Orchard-Cache"):
			continue
		}
		kv := [2][]byte{append([]byte(nil), k...), append([]byte(nil), v...)}
		if eqFold(k, "ETag") {
			e.etag = kv[1]
		}
		e.hdrs = append(e.hdrs, kv)
		e.size += int64(len(k) + len(v) + 32)
	}
	e.wire = e.appendHead(nil, e.status)
	e.wire = append(append(e.wire, "Content-Length: "...), strconv.Itoa(len(e.body))...)
	e.wire = append(e.wire, "\r\n"...)
	e.wire304 = e.appendHead(nil, fasthttp.StatusNotModified)
	e.size += int64(len(e.wire) + len(e.wire304))
	return e
}

// appendHead appends a status line with e's headers and X-Orchard-Cache.
func (e *cacheEntry) appendHead(dst []byte, status int) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(append(append(dst, ' '), fasthttp.StatusMessage(status)...), "\r\n"...)
	for _, h := range e.hdrs {
		dst = append(append(append(append(dst, h[0]...), ": "...), h[1]...), "\r\n"...)
	}
	return append(dst, "X-Orchard-Cache: hit\r\n"...)
}

// cacheableControl accepts a Cache-Control without no-store, no-cache,
// private or max-age=0 (and refuses a missing one).
func cacheableControl(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, d := range bytes.Split(v, []byte(",")) {
		d = bytes.TrimSpace(d)
		if eqFold(d, "no-store") || eqFold(d, "no-cache") || eqFold(d, "private") || eqFold(d, "max-age=0") ||
			(len(d) > 9 && eqFold(d[:9], "no-cache=")) || (len(d) > 8 && eqFold(d[:8], "private=")) {
			return false
		}
	}
	return true
}

// coarseNow is the time in units of about a millisecond (2^20 ns).
func coarseNow() uint64 { return uint64(time.Now().UnixNano() >> 20) }
