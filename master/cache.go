package master

import (
	"container/list"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/render"
)

// siteSlot holds what the handler keeps of one site: its renderer for the
// newest content version seen.
type siteSlot struct {
	cur   atomic.Pointer[siteEntry]
	used  atomic.Int64 // the handler's tick when last served, for MaxSites
	build sync.Mutex   // one rebuild at a time; the others wait for it
}

// siteEntry is a site's lazy renderer for one content version, and the
// files rendered from it so far.
type siteEntry struct {
	host    string
	version int64
	r       *render.Renderer
	files   *fileCache
}

// entry returns the site's entry for content version v: the kept one when
// its version is v, else a new one made from the site's index (without page
// bodies), which takes over every rendered file whose inputs are unchanged.
func (h *SiteHandler) entry(ctx context.Context, host string, v int64) (*siteEntry, error) {
	slot := h.slot(host)
	if e := slot.cur.Load(); e != nil && e.version == v {
		return e, nil
	}
	slot.build.Lock()
	defer slot.build.Unlock()
	old := slot.cur.Load()
	if old != nil && old.version == v { // another request got there first
		return old, nil
	}
	c, err := h.store.LoadSiteIndex(ctx, host)
	if err != nil {
		return nil, err
	}
	load := func(ctx context.Context, paths []string) (map[string]orchard.PageBody, error) {
		return h.store.PageBodies(ctx, host, paths)
	}
	r, err := render.NewLazy(c, load)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", host, err)
	}
	// The index was read after v, so it is as new as v or newer: tagged
	// v, it is at worst made again on the next request.
	e := &siteEntry{host: host, version: v, r: r, files: newFileCache(h.maxBytes())}
	if old != nil {
		old.files.carry(e.files, func(key string) bool { return unchanged(old.r, r, key) })
	}
	slot.cur.Store(e)
	return e, nil
}

// unchanged reports whether the output at key renders alike from a and b:
// it is in both with the same type and deps, and no dep's hash differs.
func unchanged(a, b *render.Renderer, key string) bool {
	oa, ok := a.Lookup(key)
	if !ok {
		return false
	}
	ob, ok := b.Lookup(key)
	if !ok || oa.ContentType != ob.ContentType || !slices.Equal(oa.Deps, ob.Deps) {
		return false
	}
	ia, ib := a.Inputs(), b.Inputs()
	for _, d := range oa.Deps {
		ha, ok := ia[d]
		if !ok || ha != ib[d] {
			return false
		}
	}
	return true
}

// slot returns the site's slot, making it when missing; it drops the least
// recently served site's when more than MaxSites would be kept.
func (h *SiteHandler) slot(host string) *siteSlot {
	tick := h.tick.Add(1)
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sites[host]
	if s == nil {
		if max := h.maxSites(); len(h.sites) >= max {
			var oldest string
			var at int64
			for k, o := range h.sites {
				if u := o.used.Load(); oldest == "" || u < at {
					oldest, at = k, u
				}
			}
			delete(h.sites, oldest)
		}
		s = &siteSlot{}
		h.sites[host] = s
	}
	s.used.Store(tick)
	return s
}

// forget drops what is kept of a host that no longer names a site.
func (h *SiteHandler) forget(host string) {
	h.mu.Lock()
	delete(h.sites, host)
	h.mu.Unlock()
}

// render returns the output's bytes, from the entry's files when rendered
// before; a new one is kept within the site's byte budget.
func (h *SiteHandler) render(e *siteEntry, key string) ([]byte, error) {
	if b, ok := e.files.get(key); ok {
		return b, nil
	}
	b, err := e.r.Render(key)
	if err != nil {
		return nil, err
	}
	e.files.put(key, b)
	return b, nil
}

func (h *SiteHandler) maxBytes() int64 {
	if h.MaxCacheBytes == 0 {
		return DefaultMaxCacheBytes
	}
	return h.MaxCacheBytes
}

func (h *SiteHandler) maxSites() int {
	if h.MaxSites <= 0 {
		return DefaultMaxSites
	}
	return h.MaxSites
}

// fileCache keeps rendered files by key, least recently used first out
// once their bytes pass max (a negative max keeps none). It is safe for
// concurrent use.
type fileCache struct {
	max int64

	mu    sync.Mutex
	bytes int64
	order *list.List // of *cachedFile, most recently used first
	byKey map[string]*list.Element
}

type cachedFile struct {
	key  string
	body []byte
}

func newFileCache(max int64) *fileCache {
	return &fileCache{max: max, order: list.New(), byKey: make(map[string]*list.Element)}
}

func (c *fileCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cachedFile).body, true
}

// put keeps body under key, dropping the least recently used files while
// over budget; a file larger than the whole budget is not kept.
func (c *fileCache) put(key string, body []byte) {
	n := int64(len(body))
	if n > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.byKey[key]; dup {
		return
	}
	c.byKey[key] = c.order.PushFront(&cachedFile{key: key, body: body})
	c.bytes += n
	for c.bytes > c.max {
		last := c.order.Back()
		f := last.Value.(*cachedFile)
		c.order.Remove(last)
		delete(c.byKey, f.key)
		c.bytes -= int64(len(f.body))
	}
}

// carry puts into dst, in their order of use, the files keep accepts.
func (c *fileCache) carry(dst *fileCache, keep func(key string) bool) {
	c.mu.Lock()
	var files []*cachedFile
	for el := c.order.Back(); el != nil; el = el.Prev() {
		files = append(files, el.Value.(*cachedFile))
	}
	c.mu.Unlock()
	for _, f := range files {
		if keep(f.key) {
			dst.put(f.key, f.body)
		}
	}
}

// size returns the bytes of the files kept.
func (c *fileCache) size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}
