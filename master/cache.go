package master

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"strconv"
	"sync"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/render"
)

// siteEntry is a site's renderer for one snapshot of its content, and the
// files rendered from it so far.
type siteEntry struct {
	host        string
	fingerprint [sha256.Size]byte
	r           *render.Renderer

	mu       sync.Mutex
	rendered map[string][]byte
	bytes    int64
}

// entry loads the site's content and returns its entry: the cached one when
// the content's fingerprint is unchanged, else a new one.
func (h *SiteHandler) entry(ctx context.Context, host string) (*siteEntry, error) {
	c, err := h.store.LoadSite(ctx, host)
	if err != nil {
		return nil, err
	}
	fp := fingerprint(c)
	h.mu.Lock()
	e := h.sites[host]
	h.mu.Unlock()
	if e != nil && e.fingerprint == fp {
		return e, nil
	}
	r, err := render.New(c)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", host, err)
	}
	ne := &siteEntry{host: host, fingerprint: fp, r: r, rendered: make(map[string][]byte)}
	h.mu.Lock()
	old := h.sites[host]
	if old != nil && old.fingerprint == fp { // another request got there first
		ne = old
	} else {
		h.sites[host] = ne
		if old != nil {
			h.cached.Add(-old.size())
		}
	}
	h.mu.Unlock()
	return ne, nil
}

// forget drops the entry of a host that no longer names a site.
func (h *SiteHandler) forget(host string) {
	h.mu.Lock()
	e := h.sites[host]
	delete(h.sites, host)
	h.mu.Unlock()
	if e != nil {
		h.cached.Add(-e.size())
	}
}

// size returns the bytes of the entry's rendered files.
func (e *siteEntry) size() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.bytes
}

// render returns the output's bytes, from the entry's files when rendered
// before; it keeps new ones while the handler's budget allows.
func (h *SiteHandler) render(e *siteEntry, key string) ([]byte, error) {
	e.mu.Lock()
	b, ok := e.rendered[key]
	e.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := e.r.Render(key)
	if err != nil {
		return nil, err
	}
	n := int64(len(b))
	if h.MaxCacheBytes >= 0 && h.cached.Load()+n <= h.budget() {
		e.mu.Lock()
		if _, dup := e.rendered[key]; !dup {
			e.rendered[key] = b
			e.bytes += n
			h.cached.Add(n)
		}
		e.mu.Unlock()
	}
	return b, nil
}

func (h *SiteHandler) budget() int64 {
	if h.MaxCacheBytes == 0 {
		return DefaultMaxCacheBytes
	}
	return h.MaxCacheBytes
}

// fingerprint hashes everything of a site's content that rendering reads
// (users are left out), field by field with length prefixes, so two
// snapshots share a fingerprint only when they render alike.
func fingerprint(c *orchard.SiteContent) [sha256.Size]byte {
	f := fp{h: sha256.New()}
	s := &c.Site
	f.str(s.Host, s.Title, s.Description, s.Scheme, strconv.Itoa(s.FeedSize))
	f.num(len(c.Categories))
	for i := range c.Categories {
		x := &c.Categories[i]
		f.str(x.Path, x.Title, x.Description, strconv.Itoa(x.Sort))
		f.time(x.Created, x.Updated)
	}
	f.num(len(c.Pages))
	for i := range c.Pages {
		x := &c.Pages[i]
		f.str(x.Path, x.Title, x.Category, x.Layout, x.Format, x.Body, x.Description, strconv.FormatBool(x.Published))
		f.time(x.Created, x.Updated)
	}
	f.num(len(c.Assets))
	for i := range c.Assets {
		x := &c.Assets[i]
		f.str(x.Path, x.ContentType)
		f.bytes(x.Data)
	}
	f.num(len(c.Templates))
	for i := range c.Templates {
		x := &c.Templates[i]
		f.str(x.Name, x.Body)
	}
	var out [sha256.Size]byte
	f.h.Sum(out[:0])
	return out
}

// fp writes length-prefixed fields into a hash.
type fp struct {
	h   hash.Hash
	buf [8]byte
}

func (f *fp) num(n int) {
	binary.LittleEndian.PutUint64(f.buf[:], uint64(n))
	f.h.Write(f.buf[:])
}

func (f *fp) bytes(b []byte) {
	f.num(len(b))
	f.h.Write(b)
}

func (f *fp) str(ss ...string) {
	for _, s := range ss {
		f.num(len(s))
		f.h.Write([]byte(s))
	}
}

func (f *fp) time(ts ...time.Time) {
	for _, t := range ts {
		f.num(int(t.UnixNano()))
	}
}
