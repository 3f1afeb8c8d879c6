package render

import (
	"context"
	"sort"
	"sync"
	"unicode/utf8"

	orchard "github.com/orchardhq/orchard"
)

// BodyLoader returns, by path, the current body and digest of each page at
// paths that exists (orchard.Store.PageBodies of the site).
type BodyLoader func(ctx context.Context, paths []string) (map[string]orchard.PageBody, error)

// NewLazy is New for content without page bodies, as
// orchard.Store.LoadSiteIndex returns it: every page carries its Digest,
// which is its input hash (the same a renderer made by New computes), and
// bodies are fetched through load only for the outputs rendered, in one
// call by Prepare or else one page at a time by Render. A fetched page whose
// digest differs from the one it came with (it was edited or removed since
// the index was read) fails with ECONFLICT ("run the build again"), so a
// release never mixes two versions of a site. Bodies are checked as Validate
// would (size, UTF-8) when fetched.
func NewLazy(c *orchard.SiteContent, load BodyLoader) (*Renderer, error) {
	if load == nil {
		return nil, orchard.Errorf(orchard.EINVALID, "No page body loader.")
	}
	host := ""
	if c != nil {
		host = c.Site.Host
	}
	return newRenderer(c, &lazyBodies{host: host, load: load, bodies: map[string]string{}})
}

// lazyBodies holds the page bodies a lazy renderer fetched.
type lazyBodies struct {
	host   string
	load   BodyLoader
	mu     sync.Mutex
	bodies map[string]string // by page path
}

// body returns p's body, fetching it when it was not yet.
func (l *lazyBodies) body(p *orchard.Page) (string, error) {
	l.mu.Lock()
	b, ok := l.bodies[p.Path]
	l.mu.Unlock()
	if ok {
		return b, nil
	}
	if err := l.fetch(context.Background(), map[string]*orchard.Page{p.Path: p}); err != nil {
		return "", err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bodies[p.Path], nil
}

// fetch loads the bodies of pages, checking each against its digest.
func (l *lazyBodies) fetch(ctx context.Context, pages map[string]*orchard.Page) error {
	paths := make([]string, 0, len(pages))
	for path := range pages {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	got, err := l.load(ctx, paths)
	if err != nil {
		return err
	}
	for _, path := range paths {
		b, ok := got[path]
		if !ok || b.Digest != pages[path].Digest {
			return orchard.Errorf(orchard.ECONFLICT, "Site %s changed during the build (page %s was edited or removed); run the build again.", l.host, path)
		}
		if len(b.Body) > orchard.MaxBodyLen || !utf8.ValidString(b.Body) {
			return orchard.Errorf(orchard.EINVALID, "Page %q: the body is too long or not valid UTF-8.", path)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, path := range paths {
		l.bodies[path] = got[path].Body
	}
	return nil
}

// Prepare fetches, in one call of the renderer's BodyLoader, the page bodies
// the outputs at keys need that were not fetched yet. It does nothing for a
// renderer made by New. Render works without it, one page at a time.
func (r *Renderer) Prepare(ctx context.Context, keys []string) error {
	if r.lazy == nil {
		return nil
	}
	need := map[string]*orchard.Page{}
	r.lazy.mu.Lock()
	for _, k := range keys {
		o, ok := r.byKey[k]
		if !ok || (o.kind != kindPage && o.kind != kindHome) {
			continue
		}
		p, ok := r.pages[o.src]
		if !ok {
			continue
		}
		if _, have := r.lazy.bodies[p.Path]; !have {
			need[p.Path] = p
		}
	}
	r.lazy.mu.Unlock()
	if len(need) == 0 {
		return nil
	}
	return r.lazy.fetch(ctx, need)
}
