package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/release"
	"github.com/orchardhq/orchard/render"
)

func newBuildCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "build (-s HOST | --all)",
		Short: "Build a site into a release (Build cache)",
		Long: `Render every page, listing, feed, sitemap, asset and the 404 page of a site
into content-addressed blobs and a manifest in the master's release store
(master.data), and print the release id. Builds are incremental: only the
outputs whose inputs changed since the newest release are rendered again
(--full renders everything). Progress shows on a terminal; Ctrl-C cancels and
leaves no half release. Publish the result with orchard publish.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, _ := cmd.Flags().GetBool("all")
			full, _ := cmd.Flags().GetBool("full")
			var host string
			if !all {
				h, err := hostArg(cmd)
				if err != nil {
					return usagef("%v (or --all)", err)
				}
				host = h
			} else if s, _ := cmd.Flags().GetString("site"); s != "" {
				return usagef("give -s HOST or --all, not both")
			}
			return withStore(cmd, func(ctx context.Context, cfg *config.Config, st orchard.Store) error {
				hosts := []string{host}
				if all {
					sites, err := st.Sites(ctx)
					if err != nil {
						return storeError(err)
					}
					hosts = hosts[:0]
					for _, s := range sites {
						hosts = append(hosts, s.Host)
					}
				}
				rs, err := release.OpenStore(cfg.Master.Data)
				if err != nil {
					return err
				}
				for _, h := range hosts {
					if err := buildSite(ctx, cmd.OutOrStdout(), st, rs, cfg, h, full); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	cmd.Flags().StringP("site", "s", "", "site host name")
	cmd.Flags().Bool("all", false, "build every site")
	cmd.Flags().Bool("full", false, "render every output, not only the changed ones")
	return cmd
}

// buildSite builds one site and prints its release line.
func buildSite(ctx context.Context, out io.Writer, st orchard.Store, rs *release.Store, cfg *config.Config, host string, full bool) error {
	start := time.Now()
	p := newProgress(os.Stderr, host)
	b := &release.Builder{Store: rs, Keep: cfg.Master.KeepReleases, Full: full, Progress: p.update}
	res, err := buildFromStore(ctx, st, b, host, publicPort(cfg))
	p.done()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("%s: build cancelled; no release was made", host)
		}
		return fmt.Errorf("%s: %w", host, storeError(err))
	}
	state := "new"
	if !res.New {
		state = "unchanged"
	}
	fmt.Fprintf(out, "%s: release %s (%s), %d files, %d bytes, %d rendered, %d reused, %s\n", host, res.Release.ID, state,
		res.Release.Files, res.Release.Bytes, res.Rendered, res.Reused, time.Since(start).Round(time.Millisecond))
	if res.New {
		warnBrokenLinks(out, host, res.Manifest, rs)
	}
	return nil
}

// brokenLinksShown is how many broken links a build lists by name.
const brokenLinksShown = 10

// warnBrokenLinks lists the links of a new release to paths of its own site
// that it does not serve. A warning, never an error: the release is made.
func warnBrokenLinks(w io.Writer, host string, m *orchard.Manifest, rs *release.Store) {
	broken, err := release.CheckLinks(m, rs.Blobs(), 0)
	if err != nil {
		fmt.Fprintf(w, "%s: warning: links not checked: %v\n", host, err)
		return
	}
	for _, line := range brokenLinkLines(broken) {
		fmt.Fprintf(w, "%s: %s\n", host, line)
	}
}

// brokenLinkLines says what CheckLinks found, in a few lines.
func brokenLinkLines(broken []release.BrokenLink) []string {
	if len(broken) == 0 {
		return nil
	}
	lines := []string{fmt.Sprintf("warning: %d links point at nothing in the release:", len(broken))}
	for i, l := range broken {
		if i == brokenLinksShown {
			lines = append(lines, fmt.Sprintf("  ... and %d more", len(broken)-i))
			break
		}
		lines = append(lines, "  "+l.Page+" links to "+l.Target)
	}
	return lines
}

// publicPort gives, for a site's scheme, the port visitors reach the sites
// on: where the balancer listens (its TLS listener for https), or 0 when that
// is the scheme's default or unknown.
func publicPort(cfg *config.Config) func(scheme string) int {
	return func(scheme string) int {
		addr := cfg.Balancer.Listen
		if scheme == "https" {
			addr = cfg.Balancer.TLSListen
		}
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			return 0
		}
		n, err := strconv.Atoi(p)
		if err != nil || (scheme == "https" && n == 443) || (scheme != "https" && n == 80) {
			return 0
		}
		return n
	}
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
// from a fresh index; the last attempt (or a first build, or --full) reads
// all the content in one snapshot, so a site edited all the time (or read
// from replicas that disagree) still builds. Outputs are reused either way.
// port gives the public port for a site's scheme (0: the default; nil:
// none), so that absolute URLs name it.
func buildFromStore(ctx context.Context, st orchard.Store, b *release.Builder, host string, port func(scheme string) int) (*release.Result, error) {
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
func siteForBuild(ctx context.Context, st orchard.Store, b *release.Builder, host string, snapshot bool, port func(scheme string) int) (*orchard.SiteContent, release.Renderer, error) {
	setPort := func(c *orchard.SiteContent) {
		if port != nil {
			c.Site.Port = port(c.Site.Scheme)
		}
	}
	if h, err := orchard.NormalizeHost(host); err == nil && !snapshot && !b.Full && b.Store.HasBuildRecord(h) {
		b.Preload(h)
		c, err := st.LoadSiteIndex(ctx, host)
		if err != nil {
			return nil, nil, storeError(err)
		}
		setPort(c)
		h := c.Site.Host
		r, err := render.NewLazy(c, func(ctx context.Context, paths []string) (map[string]orchard.PageBody, error) {
			return st.PageBodies(ctx, h, paths)
		})
		if err != nil {
			return nil, nil, storeError(err)
		}
		return c, renderAdapter{r}, nil
	}
	c, err := st.LoadSite(ctx, host)
	if err != nil {
		return nil, nil, storeError(err)
	}
	setPort(c)
	r, err := siteRenderer(c)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", host, err)
	}
	return c, r, nil
}

// progress draws "HOST: done/total (rate/s)" on a terminal, at most ten
// times a second, and nothing when w is not a terminal.
type progress struct {
	w     io.Writer
	host  string
	on    bool
	start time.Time
	mu    sync.Mutex
	last  time.Time
	shown bool
}

func newProgress(w *os.File, host string) *progress {
	return &progress{w: w, host: host, on: term.IsTerminal(int(w.Fd())), start: time.Now()}
}

func (p *progress) update(done, total int) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if done != total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	rate := float64(done) / now.Sub(p.start).Seconds()
	fmt.Fprintf(p.w, "\r%s: %d/%d (%.0f/s)   ", p.host, done, total, rate)
	p.shown = true
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// siteRenderer returns the renderer of a site's content for the builder.
func siteRenderer(c *orchard.SiteContent) (release.Renderer, error) {
	r, err := render.New(c)
	if err != nil {
		return nil, storeError(err)
	}
	return renderAdapter{r}, nil
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
