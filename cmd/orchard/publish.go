package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/master"
	"github.com/orchardhq/orchard/publish"
	"github.com/orchardhq/orchard/release"
)

func newPublishCmd() *cobra.Command {
	var (
		site  string
		all   bool
		build bool
		quiet bool
		gc    bool
		yes   bool
	)
	cmd := &cobra.Command{
		Use:   "publish -s HOST | --all",
		Short: "Publish the newest release of a site to every node",
		Long: `Publish the newest release of a site (or of every site with --all) to every
node of the cluster file: each node is sent the manifest, then only the blobs it
lacks, and when every reachable node has them all the release is activated on
all of them at once. A node never serves half a release.

Prints progress per node and a result per node. Exits 0 only when every node
that is up activated the release; nodes that are down are listed and catch up
from the master within a few seconds of coming back.

After orchard rollback, publishing a newer release undoes the rollback: publish
says so and asks first (on a terminal), or needs --yes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (site == "") == !all {
				return usagef("give -s HOST or --all")
			}
			cfg, err := config.Load(configPath(cmd))
			if err != nil {
				return usageError{err}
			}
			if len(cfg.Nodes) == 0 {
				return usagef("%s has no [[node]] to publish to", cfg.Path)
			}
			store, err := release.OpenStore(cfg.Master.Data)
			if err != nil {
				return err
			}
			var sites []string
			switch {
			case all && build:
				// The build below lists the sites from the database.
			case all:
				if sites, err = store.Sites(); err != nil {
					return err
				}
				if len(sites) == 0 {
					return usagef("no site has a release yet: run orchard build first")
				}
			default:
				h, err := orchard.NormalizeHost(site)
				if err != nil {
					return usagef("-s %q: %s", site, orchard.ErrorMessage(err))
				}
				sites = []string{h}
			}
			ctx := cmd.Context()
			if build {
				buildOut := cmd.ErrOrStderr()
				if quiet {
					buildOut = io.Discard
				}
				err := withStore(cmd, func(ctx context.Context, cfg *config.Config, st orchard.Store) error {
					hosts := sites
					if all {
						list, err := st.Sites(ctx)
						if err != nil {
							return storeError(err)
						}
						hosts = nil
						for _, s := range list {
							hosts = append(hosts, s.Host)
						}
					}
					for _, h := range hosts {
						if err := buildSite(ctx, buildOut, st, store, cfg, h, false); err != nil {
							return err
						}
					}
					if all {
						sites = hosts
					}
					return nil
				})
				if err != nil {
					return err
				}
				if len(sites) == 0 {
					return usagef("there is no site to build: create one with orchard site -s HOST -c")
				}
			}
			// A short-lived process whose live heap is one manifest and
			// the blob index: collecting less often costs little memory
			// and saves a good part of its CPU time.
			if os.Getenv("GOGC") == "" {
				defer debug.SetGCPercent(debug.SetGCPercent(400))
			}
			// ... but not past publishMemoryLimit, whatever the number of
			// sites and blobs: the GC then runs as often as it must.
			if os.Getenv("GOMEMLIMIT") == "" {
				defer debug.SetMemoryLimit(debug.SetMemoryLimit(publishMemoryLimit))
			}
			svc := newService(cfg, nil, store, cmdLogger(quiet))
			if all {
				err := publishAll(cmd, svc, store, sites, quiet, yes)
				collectAfter(cmd, svc, gc)
				return err
			}
			var failed []string
			for _, s := range sites {
				newest, err := store.Latest(s)
				if err != nil {
					return err
				}
				if newest == "" {
					return usagef("site %s has no release: run orchard build -s %s first", s, s)
				}
				active, err := store.Active(s)
				if err != nil {
					return err
				}
				if err := confirmUndoRollback(cmd, svc.RollbackMark(s), s, active, newest, yes); err != nil {
					return err
				}
				res, err := svc.Publish(ctx, s, newest, cliProgress(cmd, s, quiet))
				if res != nil {
					printResult(cmd.OutOrStdout(), res, quiet)
				}
				if err != nil {
					return err
				}
				if !res.OK() {
					failed = append(failed, s)
				}
			}
			collectAfter(cmd, svc, gc)
			if len(failed) > 0 {
				return fmt.Errorf("publish did not activate everywhere: %s", strings.Join(failed, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&site, "site", "s", "", "site host name")
	cmd.Flags().BoolVar(&all, "all", false, "publish every site")
	cmd.Flags().BoolVar(&build, "build", false, "build the site first")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the result")
	cmd.Flags().BoolVar(&yes, "yes", false, "publish without asking when it undoes a rollback")
	cmd.Flags().BoolVar(&gc, "gc", false, "garbage-collect old releases and blobs on the master now (else at most every "+master.DefaultGCEvery.String()+")")
	return cmd
}

// publishMemoryLimit is the soft limit of a publish process's heap (see
// debug.SetMemoryLimit), in bytes.
const publishMemoryLimit = 128 << 20

// collectAfter runs the prune + GC rule now when gc (--gc) is set.
func collectAfter(cmd *cobra.Command, svc *master.Service, gc bool) {
	if !gc {
		return
	}
	if err := svc.Collect(); err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %v\n", err)
	}
}

// publishAll publishes the newest release of every site in sites, a few
// at a time (master.Service.PublishAll): one line per site on stdout in
// the order of sites (as -q prints for one site), progress on stderr
// unless quiet, then a summary. It fails when any site did not activate
// everywhere, naming them.
func publishAll(cmd *cobra.Command, svc *master.Service, store *release.Store, sites []string, quiet, yes bool) error {
	if err := confirmUndoRollbacks(cmd, svc, store, sites, yes); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	prog := newAllProgress(cmd.ErrOrStderr(), len(sites), quiet)
	var failed []string
	sum, err := svc.PublishAll(cmd.Context(), sites, master.AllOptions{
		Site: func(r master.SiteResult) {
			if r.Result != nil {
				printResult(out, r.Result, true)
			}
			if r.Err != nil {
				fmt.Fprintf(out, "%s: not published: %v\n", r.Site, r.Err)
			}
			if !r.OK() {
				failed = append(failed, r.Site)
			}
			prog.site(r.OK())
		},
	})
	if sum == nil {
		return err
	}
	prog.done()
	fmt.Fprintf(out, "published %d of %d sites in %s", sum.Published, sum.Sites, sum.Duration.Round(time.Millisecond))
	if sum.Failed > 0 {
		fmt.Fprintf(out, ", %d failed", sum.Failed)
	}
	fmt.Fprintln(out)
	for _, e := range sum.Edge {
		switch {
		case e.Err != nil:
			fmt.Fprintf(out, "%s: not asked (%v); it serves the new releases after its next health check\n", e.Name, e.Err)
		case e.Behind > 0:
			fmt.Fprintf(out, "%s: still routes %d published sites to an older release (a node that activated them is not up there yet)\n", e.Name, e.Behind)
		default:
			fmt.Fprintf(out, "%s: serving every published release\n", e.Name)
		}
	}
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("publish did not activate everywhere: %s", listSome(failed, 20))
	}
	return nil
}

// listSome joins the first n of names and says how many more there are.
func listSome(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// confirmUndoRollbacks asks, before a publish of sites, about each of
// them whose publish would undo a rollback (see confirmUndoRollback). It
// reads the marks of the sites that have one, not every site's.
func confirmUndoRollbacks(cmd *cobra.Command, svc *master.Service, store *release.Store, sites []string, yes bool) error {
	marked, err := svc.RolledBack()
	if err != nil || len(marked) == 0 {
		return err
	}
	want := make(map[string]bool, len(sites))
	for _, s := range sites {
		want[s] = true
	}
	for _, s := range marked {
		if !want[s] {
			continue
		}
		newest, err := store.Latest(s)
		if err != nil {
			return err
		}
		active, err := store.Active(s)
		if err != nil {
			return err
		}
		if err := confirmUndoRollback(cmd, svc.RollbackMark(s), s, active, newest, yes); err != nil {
			return err
		}
	}
	return nil
}

// allProgress prints "published N/M sites" on w as a publish of many
// sites goes: on a terminal a line rewritten in place, else a line every
// few seconds; nothing when quiet.
type allProgress struct {
	w              io.Writer
	total, n, fail int
	tty, quiet     bool
	start, last    time.Time
}

func newAllProgress(w io.Writer, total int, quiet bool) *allProgress {
	p := &allProgress{w: w, total: total, quiet: quiet, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		p.tty = term.IsTerminal(int(f.Fd()))
	}
	p.last = p.start
	return p
}

func (p *allProgress) site(ok bool) {
	p.n++
	if !ok {
		p.fail++
	}
	every := 5 * time.Second
	if p.tty {
		every = 200 * time.Millisecond
	}
	if p.quiet || time.Since(p.last) < every {
		return
	}
	p.last = time.Now()
	p.print()
}

func (p *allProgress) print() {
	end := "\n"
	if p.tty {
		end = "\r"
	}
	fmt.Fprintf(p.w, "published %d/%d sites", p.n, p.total)
	if p.fail > 0 {
		fmt.Fprintf(p.w, " (%d failed)", p.fail)
	}
	fmt.Fprintf(p.w, ", %s%s", time.Since(p.start).Round(time.Second), end)
}

// done prints the last count, on a line of its own.
func (p *allProgress) done() {
	if p.quiet {
		return
	}
	p.print()
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

// newPublisher wires the publish protocol to the cluster file and the
// master's release store.
func newPublisher(cfg *config.Config, store *release.Store, logger *slog.Logger) *publish.Publisher {
	p := &publish.Publisher{
		Secret:  cfg.Secret,
		Blobs:   store.Blobs(),
		Catalog: master.Catalog{Store: store},
		Logger:  logger,
	}
	for _, n := range cfg.Nodes {
		p.Nodes = append(p.Nodes, publish.Target{Name: n.Name, ControlAddr: n.Control})
	}
	// Every balancer of a tier routes the new release at once, not only
	// the one holding the virtual address.
	controls := cfg.BalancerControls()
	for _, name := range slices.Sorted(maps.Keys(controls)) {
		p.Balancers = append(p.Balancers, publish.Target{Name: name, ControlAddr: controls[name]})
	}
	return p
}

// cmdLogger logs to stderr only when ORCHARD_LOG is set ("debug" for
// everything): the progress lines and the result table already say what
// happened on every node.
func cmdLogger(quiet bool) *slog.Logger {
	switch os.Getenv("ORCHARD_LOG") {
	case "":
		return slog.New(slog.DiscardHandler)
	case "debug":
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	lvl := slog.LevelInfo
	if quiet {
		lvl = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
}

// cliProgress prints a publish's progress on stderr, unless quiet.
func cliProgress(cmd *cobra.Command, site string, quiet bool) master.Progress {
	if quiet {
		return master.Progress{}
	}
	errw := cmd.ErrOrStderr()
	return master.Progress{
		Start: func(id string, files, nodes int) {
			fmt.Fprintf(errw, "publishing %s release %s (%d files) to %d nodes\n", site, id, files, nodes)
		},
		Event: progressPrinter(errw),
	}
}

// progressPrinter prints each node's phase changes, and on a terminal the
// upload count as it goes.
func progressPrinter(w io.Writer) func(publish.Event) {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	var mu sync.Mutex
	last := map[string]time.Time{}
	return func(e publish.Event) {
		mu.Lock()
		defer mu.Unlock()
		if line, ok := phaseLine(fmt.Sprintf("  %-10s", e.Node), e); ok {
			fmt.Fprintln(w, line)
			return
		}
		if e.Phase == publish.PhaseUpload && tty && (time.Since(last[e.Node]) > 200*time.Millisecond || e.Done == e.Total) {
			last[e.Node] = time.Now()
			fmt.Fprintf(w, "\r  %-10s %d/%d blobs, %s", e.Node, e.Done, e.Total, orchard.FormatBytes(e.Bytes))
			if e.Done == e.Total {
				fmt.Fprintln(w)
			}
		}
	}
}

// printResult prints a line for the release and a table of the nodes; quiet
// prints the line alone, followed only by nodes that did not activate.
func printResult(w io.Writer, res *publish.Result, quiet bool) {
	fmt.Fprintf(w, "%s release %s: %d files, %s\n", res.Site, res.Release, res.Files, res.Duration.Round(time.Millisecond))
	if quiet {
		for _, n := range res.Nodes {
			if n.State != publish.PhaseActivated {
				fmt.Fprintf(w, "  %s %s: %v\n", n.Name, n.State, n.Err)
			}
		}
		return
	}
	tw := newTable(w, "NODE\tSTATE\tBLOBS SENT\tBYTES\tTIME\tNOTE")
	for _, n := range res.Nodes {
		note := ""
		switch n.State {
		case publish.PhaseDown:
			note = "down, will catch up when it is back"
		case publish.PhaseFailed:
			note = fmt.Sprint(n.Err)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", n.Name, n.State, n.Missing, orchard.FormatBytes(n.Sent), n.Duration.Round(time.Millisecond), note)
	}
	tw.Flush()
	if down := res.Down(); len(down) > 0 {
		fmt.Fprintf(w, "down: %s (they will catch up)\n", strings.Join(down, ", "))
	}
	for _, e := range res.Edge {
		switch {
		case e.Err != nil:
			fmt.Fprintf(w, "%s: not asked (%v); it serves the release after its next health check\n", e.Name, e.Err)
		case e.Visible(res.Release):
			fmt.Fprintf(w, "%s: serving release %s\n", e.Name, res.Release)
		default:
			fmt.Fprintf(w, "%s: still routes %s to release %q (a node that activated it is not up there yet)\n", e.Name, res.Site, e.Release)
		}
	}
}

// confirmUndoRollback asks before a publish of release id replaces the
// release a rollback of site activated (active; m is the site's rollback
// mark, nil when it has none): on a terminal y/N, else --yes is required.
// It returns nil when there is nothing to undo.
func confirmUndoRollback(cmd *cobra.Command, m *master.RollbackMark, site, active, id string, yes bool) error {
	if m == nil || m.To != active || id == active {
		return nil
	}
	msg := fmt.Sprintf("%s was rolled back from %s to %s at %s; publishing %s undoes that rollback",
		site, m.From, m.To, m.At.Local().Format("2006-01-02 15:04"), id)
	if yes {
		fmt.Fprintln(cmd.ErrOrStderr(), msg+".")
		return nil
	}
	ok, err := askYes(cmd, cmd.ErrOrStderr(), msg+". Publish?")
	if errors.Is(err, errNoTerminal) {
		return usagef("%s. Not published: no terminal to ask on; add --yes to publish anyway", msg)
	}
	if !ok {
		return usagef("not published: %s stays on %s", site, active)
	}
	return nil
}
