package release

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/orchardhq/orchard"
)

// Output is one file a renderer produces.
type Output struct {
	Path        string   // request path, e.g. "/news/hello/" or "/theme/style.css"
	ContentType string   // e.g. "text/html; charset=utf-8"
	Deps        []string // input keys (see Renderer.Inputs) the output is made from
}

// Renderer is what a build renders from; the master package adapts
// *render.Renderer to it. Render must be safe for concurrent use.
type Renderer interface {
	// Outputs lists every file of the site.
	Outputs() []Output
	// Render returns the bytes of the output whose Path is path.
	Render(path string) ([]byte, error)
	// Inputs maps every input key to a hash of its content.
	Inputs() map[string]string
}

// Preparer is a Renderer that fetches what some outputs need (page
// bodies, say) in one go: Build calls Prepare once with the paths of every
// output it is about to render, before rendering any of them.
type Preparer interface {
	Prepare(ctx context.Context, paths []string) error
}

// Builder builds sites into releases in a Store.
type Builder struct {
	Store *Store
	// Workers render, compress and write in parallel; default one per
	// CPU, and one per outputsPerWorker outputs at most.
	Workers int
	// Keep is how many releases of a site are kept after a build (older
	// ones are pruned, never the active one); 0 keeps all.
	Keep int
	// Progress, when set, is called as outputs complete (done of total).
	Progress func(done, total int)
	// Now gives the release's creation time; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Full disables incremental reuse (every output is rendered).
	Full bool

	pre *preload // set by Preload
}

// preload is the build record of a site's newest release, read ahead.
type preload struct {
	site string
	done chan struct{}
	id   string  // the release whose record rec is
	rec  *record // nil when there is none
}

// Preload starts reading, in the background, the build record of site's
// newest release, which an incremental Build of site needs, so that the
// read overlaps with loading and indexing the site. Build waits for it and
// uses it only if that release is still the newest. Calling it is optional.
func (b *Builder) Preload(site string) {
	p := &preload{site: site, done: make(chan struct{})}
	b.pre = p
	go func() {
		defer close(p.done)
		if b.Full || checkSite(site) != nil {
			return
		}
		rels, err := b.Store.Releases(site)
		if err != nil || len(rels) == 0 {
			return
		}
		p.id, p.rec = rels[0].ID, b.Store.loadRecord(site, rels[0].ID)
	}()
}

// previousRecord returns the build record of release id of site.
func (b *Builder) previousRecord(site, id string) *record {
	if p := b.pre; p != nil && p.site == site {
		b.pre = nil
		<-p.done
		if p.id == id {
			return p.rec
		}
	}
	return b.Store.loadRecord(site, id)
}

// Result describes a finished build.
type Result struct {
	Release  orchard.Release
	Manifest *orchard.Manifest
	Rendered int  // outputs rendered this time
	Reused   int  // outputs reused from the previous release
	New      bool // false when the build equals an existing release
}

// Build renders site through r into blobs and a manifest, reusing every
// output of the site's newest release whose inputs did not change. The
// release id comes from the manifest, so unchanged content gives the same
// release. A failed or cancelled build leaves no manifest (its blobs, if
// any, are left to GC). Render errors name the output path.
func (b *Builder) Build(ctx context.Context, site *orchard.Site, r Renderer) (*Result, error) {
	if err := checkSite(site.Host); err != nil {
		return nil, err
	}
	so := SettingsOf(site)
	// The store gives validated redirects; a Site made elsewhere gets them
	// cleaned and sorted here, as a node requires them.
	if err := orchard.ValidateRedirects(so.Redirects); err != nil {
		return nil, err
	}
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	outs := r.Outputs()
	inputs := r.Inputs()
	keys := make([]string, len(outs))
	sums := make([]string, len(outs))
	seen := make(map[string]string, len(outs))
	for i, o := range outs {
		clean, err := orchard.CleanRequestPath(o.Path)
		if err != nil || clean != o.Path {
			return nil, orchard.Errorf(orchard.EINVALID, "Output path %q is not a clean path.", o.Path)
		}
		k := orchard.ManifestKey(clean)
		if IsReserved(k) {
			return nil, orchard.Errorf(orchard.EINVALID, "Output path %q is reserved for orchard.", o.Path)
		}
		if prev, dup := seen[k]; dup {
			return nil, orchard.Errorf(orchard.EINVALID, "Outputs %q and %q are the same file.", prev, o.Path)
		}
		if o.ContentType == "" {
			return nil, orchard.Errorf(orchard.EINVALID, "Output %q has no content type.", o.Path)
		}
		seen[k] = o.Path
		keys[i] = k
	}

	// The newest release is the parent; its build record says what each
	// output was made from and what it produced, so the previous manifest
	// itself is not read.
	var prev *orchard.Release
	var prevRec *record
	rels, err := b.Store.Releases(site.Host)
	if err != nil {
		return nil, err
	}
	if len(rels) > 0 {
		prev = &rels[0]
		if !b.Full {
			prevRec = b.previousRecord(site.Host, prev.ID)
		}
	}

	entries := make([]orchard.ManifestEntry, len(outs))
	rendered := make([]bool, len(outs))
	// First every output's deps digest and whether the previous build's
	// entry stands (cheap, in parallel), then the rest is rendered.
	todo := b.reuse(outs, keys, sums, entries, inputs, prevRec)
	done := int64(len(outs) - len(todo))
	if done > 0 {
		b.progress(done, len(outs))
	}
	if p, ok := r.(Preparer); ok && len(todo) > 0 {
		paths := make([]string, len(todo))
		for j, i := range todo {
			paths[j] = outs[i].Path
		}
		if err := p.Prepare(ctx, paths); err != nil {
			return nil, err
		}
	}
	if err := b.render(ctx, r, outs, todo, entries, rendered, done); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("build %s: %w", site.Host, err)
	}

	m := &orchard.Manifest{Site: site.Host, Created: now().UTC().Truncate(time.Second), Files: make(map[string]orchard.ManifestEntry, len(outs)+1)}
	rec := &record{Outputs: make([]recordOutput, len(outs))}
	res := &Result{Manifest: m}
	for i, o := range outs {
		m.Files[keys[i]] = entries[i]
		rec.Outputs[i] = recordOutput{Path: o.Path, Key: keys[i], ContentType: o.ContentType, Sum: sums[i], Entry: entries[i]}
		if rendered[i] {
			res.Rendered++
		} else {
			res.Reused++
		}
	}
	settings, err := so.encode()
	if err != nil {
		return nil, err
	}
	se, err := b.store(nil, settings, "application/json")
	if err != nil {
		return nil, fmt.Errorf("store settings: %w", err)
	}
	m.Files[SettingsKey] = se
	if err := b.Store.blobs.Sync(); err != nil {
		return nil, err
	}
	id := m.ID()
	if prev != nil {
		m.Parent = prev.ID
		if m.Parent == id { // nothing changed: the newest release stands
			m.Parent, m.Created = prev.Parent, prev.Created
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("build %s: %w", site.Host, err)
	}
	// The record (a cache file of its own) is written while the manifest is.
	recErr := make(chan error, 1)
	go func() { recErr <- b.Store.saveRecord(site.Host, id, rec) }()
	old, err := b.Store.Manifest(site.Host, id)
	switch {
	case err == nil:
		m = old
		res.Manifest = old
	case orchard.ErrorCode(err) == orchard.ENOTFOUND:
		err = b.Store.saveManifest(m, id)
		res.New = err == nil
	}
	if rerr := <-recErr; err == nil {
		err = rerr
	}
	if err != nil {
		return nil, err
	}
	if err := b.Store.setLatest(site.Host, id); err != nil {
		return nil, err
	}
	if b.Keep > 0 {
		if _, err := b.Store.Prune(site.Host, b.Keep); err != nil {
			return nil, err
		}
	}
	res.Release = summary(m, id)
	if b.Logger != nil {
		b.Logger.Info("built release", "site", site.Host, "release", id, "files", res.Release.Files,
			"rendered", res.Rendered, "reused", res.Reused, "new", res.New)
	}
	return res, nil
}

// reuse fills sums with each output's deps digest and, under the previous
// build's record, entries with those that render the same as last time. It
// returns the indexes of the outputs left to render, in order.
func (b *Builder) reuse(outs []Output, keys, sums []string, entries []orchard.ManifestEntry, inputs map[string]string, prevRec *record) []int {
	reused := make([]bool, len(outs))
	workers := min(runtime.GOMAXPROCS(0), 1+len(outs)/512)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var scratch []string
			var h depsHasher
			for i := w; i < len(outs); i += workers {
				o := outs[i]
				d := o.Deps
				if !sortedUnique(d) {
					scratch = append(scratch[:0], d...)
					slices.Sort(scratch)
					d = slices.Compact(scratch)
				}
				sums[i] = h.sum(d, inputs)
				if prevRec != nil {
					// The blobs of a stored release are kept by GC, so
					// they are not stat'ed here (SetActive checks them all).
					if e, ok := prevRec.reusable(keys[i], o, sums[i]); ok {
						entries[i] = e
						reused[i] = true
					}
				}
			}
		})
	}
	wg.Wait()
	var todo []int
	for i := range outs {
		if !reused[i] {
			todo = append(todo, i)
		}
	}
	return todo
}

// sortedUnique reports whether s is sorted without duplicates.
func sortedUnique(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

// render renders, compresses and stores the outputs at todo in parallel.
func (b *Builder) render(ctx context.Context, r Renderer, outs []Output, todo []int, entries []orchard.ManifestEntry, rendered []bool, done int64) error {
	if len(todo) == 0 {
		return nil
	}
	// Rendering and compressing are CPU work (a blob is appended to a
	// pack, no file is made for it): a worker per CPU at most. And one
	// per outputsPerWorker outputs at most: each worker's gzip encoder
	// costs about 2.5 ms to set up in a fresh process, more than
	// rendering a few pages, and an edit renders five or so.
	workers := b.Workers
	if workers <= 0 {
		workers = min(runtime.GOMAXPROCS(0), (len(todo)+outputsPerWorker-1)/outputsPerWorker)
	}
	workers = min(workers, len(todo))
	var count atomic.Int64
	count.Store(done)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var gz gzipper
			for {
				j := int(next.Add(1)) - 1
				if j >= len(todo) || ctx.Err() != nil {
					return
				}
				i := todo[j]
				o := outs[i]
				data, err := r.Render(o.Path)
				if err != nil {
					fail(fmt.Errorf("render %s: %w", o.Path, err))
					return
				}
				e, err := b.store(&gz, data, o.ContentType)
				if err != nil {
					fail(fmt.Errorf("store %s: %w", o.Path, err))
					return
				}
				entries[i] = e
				rendered[i] = true
				b.progress(count.Add(1), len(outs))
			}
		})
	}
	wg.Wait()
	return firstErr
}

// outputsPerWorker is how many outputs to render make a worker worth its
// set-up (see render).
const outputsPerWorker = 16

func (b *Builder) progress(done int64, total int) {
	if b.Progress != nil {
		b.Progress(int(done), total)
	}
}

// minGzip is the smallest text output worth a gzip variant, in bytes.
const minGzip = 256

// store writes data (and, for text, its gzip variant when that is at least
// 10% smaller) as blobs, without fsync (Build syncs once).
func (b *Builder) store(gz *gzipper, data []byte, contentType string) (orchard.ManifestEntry, error) {
	sha, err := b.Store.blobs.putNoSync(data)
	if err != nil {
		return orchard.ManifestEntry{}, err
	}
	e := orchard.ManifestEntry{SHA256: sha, Size: int64(len(data)), ContentType: contentType}
	if gz == nil || len(data) < minGzip || !Compressible(contentType) {
		return e, nil
	}
	z, err := gz.compress(data)
	if err != nil {
		return e, err
	}
	if len(z) > len(data)*9/10 {
		return e, nil
	}
	zsha, err := b.Store.blobs.putNoSync(z)
	if err != nil {
		return e, err
	}
	e.Gzip, e.GzipSize = zsha, int64(len(z))
	return e, nil
}

// Compressible reports whether content of this type is worth a gzip variant.
func Compressible(contentType string) bool {
	ct := strings.ToLower(contentType)
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "javascript") ||
		strings.Contains(ct, "json") || strings.Contains(ct, "xml") || strings.Contains(ct, "svg")
}

// gzipper compresses deterministically (no name, no time) with a reused writer.
type gzipper struct {
	buf bytes.Buffer
	w   *gzip.Writer
}

func (g *gzipper) compress(data []byte) ([]byte, error) {
	g.buf.Reset()
	if g.w == nil {
		w, err := gzip.NewWriterLevel(&g.buf, 6)
		if err != nil {
			return nil, err
		}
		g.w = w
	} else {
		g.w.Reset(&g.buf)
	}
	if _, err := g.w.Write(data); err != nil {
		return nil, err
	}
	if err := g.w.Close(); err != nil {
		return nil, err
	}
	return bytes.Clone(g.buf.Bytes()), nil
}
