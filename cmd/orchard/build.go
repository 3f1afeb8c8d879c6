package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/master"
	"github.com/orchardhq/orchard/release"
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

// newService wires the master's Service to the cluster file: the database
// st (nil for commands that only publish), the release store rs, and a
// publisher to the nodes when the cluster has any.
func newService(cfg *config.Config, st orchard.Store, rs *release.Store, logger *slog.Logger) *master.Service {
	svc := &master.Service{Store: st, Releases: rs, Keep: cfg.Master.KeepReleases, DataDir: cfg.Master.Data, Port: publicPort(cfg), Logger: logger}
	if len(cfg.Nodes) > 0 {
		svc.Publisher = newPublisher(cfg, rs, logger)
	}
	return svc
}

// buildSite builds one site and prints its release line.
func buildSite(ctx context.Context, out io.Writer, st orchard.Store, rs *release.Store, cfg *config.Config, host string, full bool) error {
	start := time.Now()
	p := newProgress(os.Stderr, host)
	res, err := newService(cfg, st, rs, nil).Build(ctx, host, master.BuildOptions{Full: full, Progress: p.update})
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
	for _, line := range res.Warnings() {
		fmt.Fprintf(out, "%s: %s\n", host, line)
	}
	return nil
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
