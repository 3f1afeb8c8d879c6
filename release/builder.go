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

// Renderer is what a build renders from; cmd/orchard adapts
// *render.Renderer to it. Render must be safe for concurrent use.
type Renderer interface {
	// Outputs lists every file of the site.
	Outputs() []Output
	// Render returns the bytes of the output whose Path is path.
	Render(path string) ([]byte, error)
	// Inputs maps every input key to a hash of its content.
	Inputs() map[string]string
}

// Builder builds sites into releases in a Store.
type Builder struct {
	Store *Store
	// Workers render, compress and write in parallel; default 4 x GOMAXPROCS.
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
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	workers := b.Workers
	if workers <= 0 {
		workers = 4 * runtime.GOMAXPROCS(0) // file creation waits on the disk; overlap it
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
			prevRec = b.Store.loadRecord(site.Host, prev.ID)
		}
	}

	entries := make([]orchard.ManifestEntry, len(outs))
	rendered := make([]bool, len(outs))
	var done atomic.Int64
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var gz gzipper
			for i := range work {
				if ctx.Err() != nil {
					continue
				}
				o := outs[i]
				d := slices.Clone(o.Deps)
				slices.Sort(d)
				sums[i] = depsSum(slices.Compact(d), inputs)
				if prevRec != nil {
					// The blobs of a stored release are kept by GC, so
					// they are not stat'ed here (SetActive checks them all).
					if e, ok := prevRec.reusable(keys[i], o, sums[i]); ok {
						entries[i] = e
						b.progress(done.Add(1), len(outs))
						continue
					}
				}
				data, err := r.Render(o.Path)
				if err != nil {
					fail(fmt.Errorf("render %s: %w", o.Path, err))
					continue
				}
				e, err := b.store(&gz, data, o.ContentType)
				if err != nil {
					fail(fmt.Errorf("store %s: %w", o.Path, err))
					continue
				}
				entries[i] = e
				rendered[i] = true
				b.progress(done.Add(1), len(outs))
			}
		}()
	}
feed:
	for i := range outs {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("build %s: %w", site.Host, err)
	}

	m := &orchard.Manifest{Site: site.Host, Created: now().UTC().Truncate(time.Second), Files: make(map[string]orchard.ManifestEntry, len(outs)+1)}
	rec := &record{Outputs: make(map[string]recordOutput, len(outs))}
	res := &Result{Manifest: m}
	for i, o := range outs {
		m.Files[keys[i]] = entries[i]
		rec.Outputs[o.Path] = recordOutput{Key: keys[i], ContentType: o.ContentType, Sum: sums[i], Entry: entries[i]}
		if rendered[i] {
			res.Rendered++
		} else {
			res.Reused++
		}
	}
	settings, err := SettingsOf(site).encode()
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
	if old, err := b.Store.Manifest(site.Host, id); err == nil {
		m = old
		res.Manifest = old
	} else if orchard.ErrorCode(err) != orchard.ENOTFOUND {
		return nil, err
	} else {
		if err := b.Store.saveManifest(m, id); err != nil {
			return nil, err
		}
		res.New = true
	}
	if err := b.Store.saveRecord(site.Host, id, rec); err != nil {
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
