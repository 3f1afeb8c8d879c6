package render

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"runtime"
	"strconv"
	"sync"
	"time"
	"unsafe"

	orchard "github.com/orchardhq/orchard"
)

// hasher writes length-prefixed fields into a SHA-256, so that no two
// different field lists hash alike. Strings go through a reused buffer, as
// the hash takes only byte slices.
type hasher struct {
	h   hash.Hash
	buf []byte
}

func newHasher() *hasher { return &hasher{h: sha256.New()} }

func (h *hasher) str(ss ...string) *hasher {
	for _, s := range ss {
		h.buf = binary.LittleEndian.AppendUint64(h.buf, uint64(len(s)))
		if len(s) > 256 {
			h.h.Write(h.buf)
			h.buf = h.buf[:0]
			// The hash only reads what it is given, so a long string
			// (a page body) is hashed in place rather than copied.
			h.h.Write(unsafe.Slice(unsafe.StringData(s), len(s)))
			continue
		}
		h.buf = append(h.buf, s...)
	}
	return h
}

func (h *hasher) bytes(b []byte) *hasher {
	h.buf = binary.LittleEndian.AppendUint64(h.buf, uint64(len(b)))
	h.h.Write(h.buf)
	h.buf = h.buf[:0]
	h.h.Write(b)
	return h
}

func (h *hasher) time(t time.Time) *hasher {
	if t.IsZero() {
		return h.str("")
	}
	return h.str(strconv.FormatInt(t.UnixNano(), 10))
}

func (h *hasher) link(l *Link) *hasher {
	if l == nil {
		return h.str("-")
	}
	return h.str("+", l.Path, l.Title, l.Description)
}

func (h *hasher) sum() string {
	h.h.Write(h.buf)
	h.buf = h.buf[:0]
	return hex.EncodeToString(h.h.Sum(nil))
}

// Inputs returns, for each input key, a hash of that input's content: one
// key per published page ("page:/news/hello/"), category
// ("category:/news/"), template ("template:partials/navbar.html"), asset
// ("asset:/theme/style.css"), the site settings ("site"), and the derived
// inputs "listing:/news/" (what a category listing shows of its posts and
// subcategories; "listing:/" for the home page), "menu" (what the navbar
// shows), "feed" and "sitemap". An output whose Deps' hashes are all
// unchanged renders to the same bytes. The caller must not modify the map.
func (r *Renderer) Inputs() map[string]string { return r.inputs }

// hashSitemap computes the "sitemap" input, once buildOutputs has listed it.
func (r *Renderer) hashSitemap() string {
	h := newHasher()
	for _, u := range r.sitemap {
		h.str(u.Loc, u.Lastmod)
	}
	return h.sum()
}

// hashInputs computes Inputs but for "sitemap" (see hashSitemap); it reads
// only what index made, so it runs while buildOutputs does.
// pageSums waits for and returns the page hashes (see hashPagesAsync).
func (r *Renderer) hashInputs(pageSums func() map[string]string) map[string]string {
	in := make(map[string]string, len(r.pages)+len(r.cats)*2+len(r.assets)+len(r.ts.files)+4)
	s := r.site
	in["site"] = newHasher().str(s.Host, s.Title, s.Description, s.Scheme, s.URL).sum()
	for path, cat := range r.cats {
		in["category:"+path] = newHasher().str(cat.Path, cat.Title, cat.Description).sum()
	}
	for name, body := range r.ts.files {
		in["template:"+name] = newHasher().str(name, body).sum()
	}
	for path, a := range r.assets {
		in["asset:"+path] = newHasher().str(a.Path, a.ContentType).bytes(a.Data).sum()
	}
	for path, l := range r.listings {
		h := newHasher()
		for _, p := range l.posts {
			h.str("post", p.Path, p.URL, p.Title, p.Description).time(p.Created).link(p.Category)
		}
		for i := range l.subs {
			h.str("sub").link(&l.subs[i])
		}
		in["listing:"+path] = h.sum()
	}
	h := newHasher()
	for i := range r.menu {
		h.link(&r.menu[i])
	}
	in["menu"] = h.sum()
	h = newHasher()
	for _, it := range r.feedItems() {
		h.str(it.Title, it.Link, it.GUID.Value, it.PubDate, it.Description, it.Category)
	}
	in["feed"] = h.sum()
	for k, v := range pageSums() {
		in[k] = v
	}
	return in
}

// pageDigests returns the digest each published page came with
// ("page:"+path to digest), for a renderer made by NewLazy.
func (r *Renderer) pageDigests() map[string]string {
	out := make(map[string]string, len(r.pages))
	for path, p := range r.pages {
		out["page:"+path] = p.Digest
	}
	return out
}

// hashPagesAsync starts hashing every published page, the bulk of the
// input bytes, on all CPUs, and returns a function that waits for the result
// ("page:"+path to hash). The hash is Page.ContentDigest, the digest stores
// keep, so that a renderer made by New and one made by NewLazy agree.
// r.pages must not change until it has returned.
func (r *Renderer) hashPagesAsync() func() map[string]string {
	pages := make([]*orchard.Page, 0, len(r.pages))
	for _, p := range r.pages {
		pages = append(pages, p)
	}
	sums := make([]string, len(pages))
	workers := min(runtime.GOMAXPROCS(0), 1+len(pages)/256)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(pages); i += workers {
				p := pages[i]
				sums[i] = p.ContentDigest()
			}
		})
	}
	return func() map[string]string {
		wg.Wait()
		out := make(map[string]string, len(pages))
		for i, p := range pages {
			out["page:"+p.Path] = sums[i]
		}
		return out
	}
}
