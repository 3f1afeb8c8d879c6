package master

import (
	"context"
	"fmt"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
	"github.com/orchardhq/orchard/render"
)

// BuildOptions says how Service.Build builds.
type BuildOptions struct {
	// Full renders every output, not only those whose inputs changed.
	Full bool
	// Progress, when set, is called as outputs complete (done of total).
	Progress func(done, total int)
}

// BuildResult is a finished build and what checking its links found.
type BuildResult struct {
	*release.Result
	// Broken lists the links of a new release to paths of its own site
	// that it does not serve (nil for a release that existed already).
	Broken []release.BrokenLink
	// LinksErr is why the links of a new release were not checked.
	LinksErr error
}

// brokenLinksShown is how many broken links Warnings lists by name.
const brokenLinksShown = 10

// Warnings says in a few lines what the link check of a new release found
// (nothing when all is well). They are warnings: the release is made.
func (r *BuildResult) Warnings() []string {
	if r.LinksErr != nil {
		return []string{"warning: links not checked: " + r.LinksErr.Error()}
	}
	if len(r.Broken) == 0 {
		return nil
	}
	lines := []string{fmt.Sprintf("warning: %d links point at nothing in the release:", len(r.Broken))}
	for i, l := range r.Broken {
		if i == brokenLinksShown {
			lines = append(lines, fmt.Sprintf("  ... and %d more", len(r.Broken)-i))
			break
		}
		lines = append(lines, "  "+l.Page+" links to "+l.Target)
	}
	return lines
}

// Build builds host's current content into a release of the release store
// (pruning the site to Keep releases) and checks the links of a new
// release (reading only the pages whose links it has not seen: after an
// edit, those rendered again). Builds run one at a time. A cancelled build
// makes no release. Store errors pass through (ENOTFOUND for an unknown
// site).
func (s *Service) Build(ctx context.Context, host string, opt BuildOptions) (*BuildResult, error) {
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	b := &release.Builder{Store: s.Releases, Keep: s.Keep, Full: opt.Full, Progress: opt.Progress}
	res, err := buildFromStore(ctx, s.Store, b, host, s.Port)
	if err != nil {
		return nil, err
	}
	out := &BuildResult{Result: res}
	if res.New {
		out.Broken, out.LinksErr = s.links.CheckLinks(res.Manifest, s.Releases.Blobs(), 0)
	}
	return out, nil
}

// buildAttempts is how many times a build starts when the site changes
// under an incremental build (between reading its index and its bodies);
// the last attempt reads everything in one snapshot.
const buildAttempts = 3

// buildFromStore builds host's current content with b. When the newest
// release has a build record and b is not Full, only the site's index is
// read (no page bodies) and the bodies of the pages rendered are fetched
// afterwards, checked against the index's digests: a page edited in
// between fails the attempt (no release is made) and the build starts over
// from a fresh index; the last attempt (or a first build, or a full one)
// reads all the content in one snapshot, so a site edited all the time (or
// read from replicas that disagree) still builds. Outputs are reused either
// way. port gives the public port for a site's scheme (0: the default;
// nil: none), so that absolute URLs name it.
func buildFromStore(ctx context.Context, st ContentStore, b *release.Builder, host string, port func(scheme string) int) (*release.Result, error) {
	for attempt := 1; ; attempt++ {
		c, r, err := siteForBuild(ctx, st, b, host, attempt == buildAttempts, port)
		if err != nil {
			return nil, err
		}
		res, err := b.Build(ctx, &c.Site, r)
		if orchard.ErrorCode(err) == orchard.ECONFLICT && attempt < buildAttempts && ctx.Err() == nil {
			continue
		}
		return res, err
	}
}

// siteForBuild loads what a build of host renders from (see buildFromStore).
func siteForBuild(ctx context.Context, st ContentStore, b *release.Builder, host string, snapshot bool, port func(scheme string) int) (*orchard.SiteContent, release.Renderer, error) {
	setPort := func(c *orchard.SiteContent) {
		if port != nil {
			c.Site.Port = port(c.Site.Scheme)
		}
	}
	if h, err := orchard.NormalizeHost(host); err == nil && !snapshot && !b.Full && b.Store.HasBuildRecord(h) {
		b.Preload(h)
		c, err := st.LoadSiteIndex(ctx, host)
		if err != nil {
			return nil, nil, err
		}
		setPort(c)
		h := c.Site.Host
		r, err := render.NewLazy(c, func(ctx context.Context, paths []string) (map[string]orchard.PageBody, error) {
			return st.PageBodies(ctx, h, paths)
		})
		if err != nil {
			return nil, nil, err
		}
		return c, renderAdapter{r}, nil
	}
	c, err := st.LoadSite(ctx, host)
	if err != nil {
		return nil, nil, err
	}
	setPort(c)
	r, err := render.New(c)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", host, err)
	}
	return c, renderAdapter{r}, nil
}

// renderAdapter gives *render.Renderer the shape release.Builder takes.
type renderAdapter struct{ r *render.Renderer }

func (a renderAdapter) Outputs() []release.Output {
	outs := a.r.Outputs()
	res := make([]release.Output, len(outs))
	for i, o := range outs {
		res[i] = release.Output{Path: o.Path, ContentType: o.ContentType, Deps: o.Deps}
	}
	return res
}

func (a renderAdapter) Render(path string) ([]byte, error) { return a.r.Render(path) }
func (a renderAdapter) Inputs() map[string]string          { return a.r.Inputs() }

// Prepare fetches the page bodies of the outputs about to be rendered (a
// renderer made by render.NewLazy); see release.Preparer.
func (a renderAdapter) Prepare(ctx context.Context, paths []string) error {
	return a.r.Prepare(ctx, paths)
}
