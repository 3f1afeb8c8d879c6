package node

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

// slot is a host's place in the host table: the table maps the host and
// its aliases to the slot, and activating a release swaps the slot's site,
// so the table itself changes only when hosts or aliases come or go.
type slot struct {
	site atomic.Pointer[site] // never nil once installed
	// loading serialises loading the slot's lazy state (Node.loaded): the
	// first requests of a site after a restart decode its manifest once.
	loading sync.Mutex
	// stats counts the host's requests, for all its releases; nil until
	// its first request (1 KiB each: idle sites, the many on a mass
	// hosting node, cost nothing).
	stats atomic.Pointer[siteStats]
}

// counters returns the slot's request counters, made on first use.
func (sl *slot) counters() *siteStats {
	if s := sl.stats.Load(); s != nil {
		return s
	}
	s := new(siteStats)
	if !sl.stats.CompareAndSwap(nil, s) {
		return sl.stats.Load()
	}
	return s
}

// site is the serving state of one site's active release, built once at
// activation with every header value precomputed. It is never modified
// after it is published to the host table.
type site struct {
	host    string
	aliases []string
	id      string // "" while the site has no active release (503)

	idHeader     []byte
	cacheControl []byte
	lastModified []byte
	modified     time.Time         // creation time of the release, whole seconds
	keys         routeKeys         // the manifest keys of entries, in their order (see find)
	entries      []entry           // every file of the release, once, by key
	redirects    map[string][]byte // clean path -> Location of a site redirect; nil when none (redirect.go)
	notFound     *entry
	slot         *slot // the host's place in the host table, holding its request counters (metrics_site.go)
	// lazy is set on the state a restart gives a site with an active
	// release: only host and id are known (and aliases when
	// aliasesKnown), the manifest is not decoded yet; Node.loaded
	// replaces it by the full state before it serves anything.
	lazy, aliasesKnown bool
}

// lazySite returns the state of host whose active release id is not loaded.
func lazySite(host, id string) *site {
	return &site{host: host, id: id, idHeader: []byte(id), lazy: true}
}

// route is what a clean request path leads to: a file, a redirect to
// the directory form of the path, or a redirect of the site's own
// (location set, see redirect.go).
type route struct {
	e        *entry
	redirect bool
	location []byte // Location of a site redirect (301)
}

// entry is one servable file of a release.
type entry struct {
	body, gz *blob // their ETags are the blobs' (blob.etag)
	kind     *kind // shared by the site's entries of one content type: 24 bytes an entry, not 48
}

// kind is what a release's files of one content type share.
type kind struct {
	contentType []byte
	ranges      bool // Range is honoured (not for HTML)
}

// newSite builds the serving state of release m with settings s, taking
// blobs from (and adding them to) reg. The entries share one slice, and
// their header values a few buffers: a release of many files costs the
// GC a handful of objects beyond its route map.
//
// A blob's size is the size of the stored blob, never the manifest's
// word: a release whose entries claim other sizes is refused (EINVALID).
// Refusing, rather than serving with the true size, keeps a release id
// meaning what it names (the id hashes the sizes, so a node serving other
// sizes would serve a release no master built) and makes the fault loud
// at publish instead of a silent difference between nodes.
func newSite(m *orchard.Manifest, id string, s *release.Settings, reg func(sha string) (*blob, error)) (*site, error) {
	st := &site{
		host:         m.Site,
		aliases:      s.Aliases,
		id:           id,
		idHeader:     []byte(id),
		cacheControl: []byte(s.CacheControl),
		modified:     m.Created.UTC().Truncate(time.Second),
	}
	st.lastModified = []byte(st.modified.Format(http.TimeFormat))
	types := map[string]*kind{}
	keys := make([]string, 0, len(m.Files))
	for k := range m.Files {
		if !release.IsReserved(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	entries := make([]entry, 0, len(keys))
	for _, k := range keys {
		fe := m.Files[k]
		ti, ok := types[fe.ContentType]
		if !ok {
			ti = &kind{contentType: []byte(fe.ContentType), ranges: !strings.HasPrefix(strings.ToLower(fe.ContentType), "text/html")}
			types[fe.ContentType] = ti
		}
		body, err := sizedBlob(reg, m, id, k, fe.SHA256, fe.Size)
		if err != nil {
			return nil, err
		}
		e := entry{body: body, kind: ti}
		if fe.Gzip != "" {
			if e.gz, err = sizedBlob(reg, m, id, k, fe.Gzip, fe.GzipSize); err != nil {
				return nil, err
			}
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("release %s of %s serves no files", id, m.Site)
	}
	st.entries = entries
	// Only the manifest keys: "/x/" and the redirect of "/x" are found
	// from "/x/index.html" at lookup (find), so a site of n pages holds n
	// keys, not 3n (at 10,000 sites the routes were the node's largest
	// per-site cost).
	st.keys = newRouteKeys(keys)
	st.notFound = st.file([]byte(s.NotFound))
	st.addRedirects(s.Redirects)
	return st, nil
}

// sizedBlob returns the blob sha from reg, refusing it when its stored size
// is not the size the manifest's entry for path claims, or when that is
// more than a node serves (maxBlobSize).
func sizedBlob(reg func(sha string) (*blob, error), m *orchard.Manifest, id, path, sha string, claim int64) (*blob, error) {
	if claim > maxBlobSize {
		return nil, orchard.Errorf(orchard.EINVALID, "Release %s of %s: %s claims %d bytes; a node serves files of at most %d.",
			id, m.Site, path, claim, maxBlobSize)
	}
	b, err := reg(sha)
	if err != nil {
		return nil, err
	}
	if b.size() != claim {
		return nil, orchard.Errorf(orchard.EINVALID, "Release %s of %s: %s claims %d bytes, but blob %s holds %d.",
			id, m.Site, path, claim, sha, b.size())
	}
	return b, nil
}

// lookup maps a raw request URI (path and maybe a query) to its route. The
// common case (only unreserved characters, nothing to clean) is a single map
// lookup with no allocation; anything else goes through
// orchard.CleanRequestPath. bad reports a path CleanRequestPath refuses.
func (s *site) lookup(uri []byte) (r route, clean string, found, bad bool) {
	p := uri
	for i, c := range uri {
		if c == '?' || c == '#' {
			p = uri[:i]
			break
		}
	}
	if orchard.IsPlainPath(p) {
		r, found = s.find(p)
		if found && r.redirect {
			clean = string(p)
		}
		return r, clean, found, false
	}
	c, err := orchard.CleanRequestPath(string(p))
	if err != nil {
		return route{}, "", false, true
	}
	r, found = s.find([]byte(c))
	return r, c, found, false
}

// find maps the clean path p to its route: the file or site redirect
// of p; else, for "/x/", the file "/x/index.html"; else, for "/x",
// a redirect to "/x/" when the file "/x/index.html" exists. Keys are
// made in a buffer on the stack: a lookup allocates nothing for paths
// up to maxStackKey bytes.
func (s *site) find(p []byte) (route, bool) {
	if e := s.file(p); e != nil {
		return route{e: e}, true
	}
	if loc, ok := s.redirects[string(p)]; ok {
		return route{location: loc}, true
	}
	if len(p) == 0 {
		return route{}, false
	}
	const index = "/index.html"
	var buf [maxStackKey]byte
	k := buf[:0]
	if len(p)+len(index) > len(buf) {
		k = make([]byte, 0, len(p)+len(index))
	}
	k = append(k, p...)
	if p[len(p)-1] == '/' {
		k = append(k, index[1:]...)
		if e := s.file(k); e != nil {
			return route{e: e}, true
		}
		return route{}, false
	}
	k = append(k, index...)
	if s.file(k) != nil {
		return route{redirect: true}, true
	}
	return route{}, false
}

// file returns the file of manifest key k, nil when the release has none.
func (s *site) file(k []byte) *entry {
	if i, ok := s.keys.index(k); ok {
		return &s.entries[i]
	}
	return nil
}

// maxStackKey bounds the paths find looks up without allocating.
const maxStackKey = 512
