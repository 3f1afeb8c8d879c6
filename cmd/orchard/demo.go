package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/auth"
	"github.com/orchardhq/orchard/bench"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/master"
	"github.com/orchardhq/orchard/release"
	"github.com/orchardhq/orchard/render"
	"github.com/spf13/cobra"
)

func newDemoCmd() *cobra.Command {
	d := &demo{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a whole cluster on loopback with sample sites",
		Long: `Run a whole orchard cluster on loopback: it writes DIR/orchard.toml (which every
other command can use with --config), creates the SQLite database with two
sample sites, alpha.localhost and blog.localhost, builds them, starts the master,
--nodes web nodes and the balancer as separate processes of this binary,
publishes the releases to the nodes and serves the sites through the balancer
at --listen. Browsers resolve *.localhost to loopback, so the printed URLs can
be clicked. Running it again reuses DIR. Ctrl-C stops everything cleanly.

Every role logs to DIR/logs/ROLE.log. Kill a node (its pid is in the log
directory listing of ps) and the balancer fails over; restart the demo and it
catches up.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d.out = cmd.OutOrStdout()
			return d.run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&d.dir, "dir", "orchard-demo", "directory for the cluster file, database, logs and data")
	f.StringVar(&d.listen, "listen", "127.0.0.1:8000", "address where the sample sites are served")
	f.IntVar(&d.nodes, "nodes", 3, "number of web nodes")
	f.BoolVar(&d.mysql, "mysql", false, "keep the CMS on a private MariaDB primary and two replicas (needs mariadb-server)")
	f.BoolVar(&d.https, "https", false, "serve the sites over HTTPS too, with certificates from a local test ACME CA (Pebble)")
	f.DurationVar(&d.load, "load", 0, "after start, load the balancer with orchard bench for this long (e.g. 30s) and print the summary")
	return cmd
}

// demo runs a whole cluster on loopback.
type demo struct {
	dir, listen string
	exe         string // the binary each role runs (demoBinary)
	nodes       int
	mysql       bool
	https       bool
	load        time.Duration
	out         io.Writer

	cfg      *config.Config
	layout   *demoLayout
	password string
	children []*child
	db       *demoDatabase
	ca       *demoCA // Pebble, with --https
}

func (d *demo) run(ctx context.Context) (err error) {
	if d.nodes < 1 || d.nodes > 16 {
		return usagef("--nodes must be between 1 and 16")
	}
	start := time.Now()
	defer d.stopAll()
	for _, step := range []func(context.Context) error{
		d.initDir,
		d.startCA,
		d.initSites,
		d.buildSites,
		d.startMaster,
		d.startNodes,
		d.publishSites,
		d.startBalancer,
		d.waitHTTPS,
	} {
		if err := step(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	d.printWelcome(time.Since(start))
	if d.load > 0 {
		if err := d.runLoad(ctx); err != nil {
			return err
		}
	}
	return d.wait(ctx)
}

// initDir creates the demo directory and writes its cluster file.
func (d *demo) initDir(ctx context.Context) error {
	abs, err := filepath.Abs(d.dir)
	if err != nil {
		return err
	}
	d.dir = abs
	if err := os.MkdirAll(filepath.Join(d.dir, "logs"), 0o750); err != nil {
		return fmt.Errorf("create demo dir: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the orchard binary: %w", err)
	}
	if d.exe, err = demoBinary(exe, d.dir); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "orchard demo in %s\n", d.dir)
	if d.layout, err = planDemo(d.listen, d.nodes); err != nil {
		return err
	}
	if d.mysql {
		printf := func(f string, a ...any) { fmt.Fprintf(d.out, f+"\n", a...) }
		if d.db, err = startDemoDatabase(ctx, d.dir, printf); err != nil {
			return err
		}
		d.layout.MySQL = d.db
	}
	if d.https {
		if err := planHTTPS(d.layout, d.dir); err != nil {
			return err
		}
	}
	path, err := writeDemoConfig(d.dir, d.layout)
	if err != nil {
		return err
	}
	if d.cfg, err = config.Load(path); err != nil {
		return fmt.Errorf("demo cluster file: %w", err)
	}
	return nil
}

// initSites creates the sample sites (once) and the cluster admin.
func (d *demo) initSites(ctx context.Context) error {
	st, err := openStore(ctx, d.cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, c := range sample.Sites() {
		if _, err := st.Site(ctx, c.Site.Host); err == nil {
			continue
		} else if orchard.ErrorCode(err) != orchard.ENOTFOUND {
			return err
		}
		c.Templates = render.DefaultTemplates()
		c.Assets = append(c.Assets, render.DefaultTheme()...)
		if err := st.ReplaceSite(ctx, c, false); err != nil {
			return fmt.Errorf("create sample site %s: %w", c.Site.Host, err)
		}
		fmt.Fprintf(d.out, "  created sample site %s (%d pages)\n", c.Site.Host, len(c.Pages))
	}
	return d.initAdmin(ctx, st)
}

// initAdmin makes sure the cluster admin "admin" exists with the password
// saved in DIR/admin-password (0600), generating one the first time.
func (d *demo) initAdmin(ctx context.Context, st orchard.Store) error {
	pwFile := filepath.Join(d.dir, "admin-password")
	b, err := os.ReadFile(pwFile)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		d.password = strings.TrimSpace(string(b))
		if _, err := st.User(ctx, "", "admin"); err == nil {
			return nil
		}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	} else {
		d.password = auth.RandomPassword()
	}
	hash, err := auth.HashPassword(d.password)
	if err != nil {
		return err
	}
	if err := st.PutUser(ctx, &orchard.User{Name: "admin", PasswordHash: hash}); err != nil {
		return fmt.Errorf("create cluster admin: %w", err)
	}
	return os.WriteFile(pwFile, []byte(d.password+"\n"), 0o600)
}

// buildSites builds every site into the master's release store ("Build cache").
func (d *demo) buildSites(ctx context.Context) error {
	return d.withStores(ctx, func(st orchard.Store, rs *release.Store) error {
		sites, err := st.Sites(ctx)
		if err != nil {
			return err
		}
		for _, s := range sites {
			if err := buildSite(ctx, indent{d.out}, st, rs, d.cfg, s.Host, false); err != nil {
				return err
			}
		}
		return nil
	})
}

// withStores runs fn on the cluster's database and the master's release
// store, and closes both after it.
func (d *demo) withStores(ctx context.Context, fn func(orchard.Store, *release.Store) error) error {
	st, err := openStore(ctx, d.cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	rs, err := release.OpenStore(d.cfg.Master.Data)
	if err != nil {
		return err
	}
	defer rs.Close()
	return fn(st, rs)
}

// startNodes runs `orchard node NAME` for each node and waits for their
// health endpoints.
func (d *demo) startNodes(ctx context.Context) error {
	for _, n := range d.cfg.Nodes {
		c, err := startChild(d.exe, n.Name, filepath.Join(d.dir, "logs"), "node", n.Name, "--config", d.cfg.Path)
		if err != nil {
			return err
		}
		d.children = append(d.children, c)
	}
	for i, n := range d.cfg.Nodes {
		if err := d.children[len(d.children)-len(d.cfg.Nodes)+i].waitHTTP(ctx, "http://"+n.Control+orchard.HealthPath, ""); err != nil {
			return err
		}
	}
	return nil
}

// publishSites publishes each site's newest release to every node through
// the master's service (the signed two-phase protocol, the publish
// statistics and the prune + GC rule, as `orchard publish` does).
func (d *demo) publishSites(ctx context.Context) error {
	return d.withStores(ctx, func(st orchard.Store, rs *release.Store) error {
		svc := newService(d.cfg, st, rs, slog.New(slog.DiscardHandler))
		sites, err := rs.Sites()
		if err != nil {
			return err
		}
		for _, s := range sites {
			id, err := rs.Latest(s)
			if err != nil || id == "" {
				return fmt.Errorf("publish %s: no release (%v)", s, err)
			}
			res, err := svc.Publish(ctx, s, id, master.Progress{})
			if err != nil {
				return fmt.Errorf("publish %s: %w", s, err)
			}
			var states []string
			for _, n := range res.Nodes {
				states = append(states, n.Name+" "+n.State)
			}
			fmt.Fprintf(d.out, "  published %s release %s: %s (%s)\n", s, id, strings.Join(states, ", "), res.Duration.Round(time.Millisecond))
			if !res.OK() {
				return fmt.Errorf("publish %s did not activate on every node; see %s", s, filepath.Join(d.dir, "logs"))
			}
		}
		return nil
	})
}

// startBalancer runs `orchard balancer` and waits until it serves a site.
func (d *demo) startBalancer(ctx context.Context) error {
	return d.startServing(ctx, "balancer", d.cfg.Balancer.Listen)
}

// startMaster runs `orchard master` and waits until it serves.
func (d *demo) startMaster(ctx context.Context) error {
	return d.startServing(ctx, "master", d.cfg.Master.Listen)
}

// startServing runs `orchard ROLE` and waits until it serves the first
// sample site on addr.
func (d *demo) startServing(ctx context.Context, role, addr string) error {
	c, err := startChild(d.exe, role, filepath.Join(d.dir, "logs"), role, "--config", d.cfg.Path)
	if err != nil {
		return err
	}
	d.children = append(d.children, c)
	return c.waitHTTP(ctx, "http://"+addr+"/", sample.AlphaHost)
}

func (d *demo) printWelcome(took time.Duration) {
	_, port, _ := strings.Cut(d.layout.Listen, ":")
	fmt.Fprintf(d.out, "\nReady in %.1fs. Open:\n", took.Seconds())
	for _, h := range []string{sample.AlphaHost, sample.BlogHost} {
		fmt.Fprintf(d.out, "  http://%s:%s/\n", h, port)
	}
	if h := d.layout.HTTPS; h != nil {
		_, tlsPort, _ := net.SplitHostPort(h.TLSListen)
		for _, host := range []string{sample.AlphaHost, sample.BlogHost} {
			fmt.Fprintf(d.out, "  https://%s:%s/\n", host, tlsPort)
		}
		fmt.Fprintf(d.out, "HTTPS certificates come from a local test CA: trust %s\n", d.caFile())
		fmt.Fprintf(d.out, "  (curl --cacert %s https://%s:%s/; orchard certs --config %s)\n", d.caFile(), sample.AlphaHost, tlsPort, d.cfg.Path)
	}
	fmt.Fprintf(d.out, "\nBalancer manager: http://127.0.0.1:%s%s\n", port, d.cfg.Balancer.Manager)
	fmt.Fprintf(d.out, "Master (dynamic render, not in the pool): http://%s/ with Host: %s\n", d.cfg.Master.Listen, sample.AlphaHost)
	for _, n := range d.cfg.Nodes {
		fmt.Fprintf(d.out, "Node %s: http://%s/ (control %s)\n", n.Name, n.Listen, n.Control)
	}
	fmt.Fprintf(d.out, "\nAdmin UI:      http://%s/ (log in as admin, site left empty)\n", d.cfg.Master.Admin)
	fmt.Fprintf(d.out, "Dashboard:     http://%s/dashboard/\n", d.cfg.Master.Admin)
	fmt.Fprintf(d.out, "Cluster admin: admin / %s (saved in %s)\n", d.password, filepath.Join(d.dir, "admin-password"))
	fmt.Fprintf(d.out, "Cluster file:  %s (use it with --config)\n", d.cfg.Path)
	fmt.Fprintf(d.out, "Logs:          %s\n", filepath.Join(d.dir, "logs"))
	fmt.Fprintf(d.out, "Binary:        %s (every role runs it)\n", d.exe)
	fmt.Fprintln(d.out, "\nPress Ctrl-C to stop.")
}

// wait blocks until Ctrl-C. A role that dies (say, a node killed to watch
// the balancer fail over) is reported and the rest carry on; when every
// role is gone the demo ends.
func (d *demo) wait(ctx context.Context) error {
	exited := make(chan *child, len(d.children))
	for _, c := range d.children {
		go func() {
			<-c.done
			exited <- c
		}()
	}
	for alive := len(d.children); alive > 0; alive-- {
		select {
		case <-ctx.Done():
			fmt.Fprintln(d.out, "\nStopping...")
			return nil
		case c := <-exited:
			fmt.Fprintf(d.out, "%s exited (%v); the rest of the cluster carries on. Its log: %s\n",
				c.name, c.err, filepath.Join(d.dir, "logs", c.name+".log"))
			if c.name != "master" && c.name != "balancer" {
				fmt.Fprintf(d.out, "  restart it with: %s\n", c.restartHint())
			}
		}
	}
	return errors.New("every role of the demo has exited")
}

// stopAll stops the roles in reverse order of start.
func (d *demo) stopAll() {
	for i := len(d.children) - 1; i >= 0; i-- {
		d.children[i].stop(5 * time.Second)
	}
	d.children = nil
	d.db.Close()
	d.db = nil
	d.ca.Close()
	d.ca = nil
}

// runLoad runs orchard bench against the balancer, spreading requests over
// every page of both sample sites, and prints siege's summary.
func (d *demo) runLoad(ctx context.Context) error {
	var targets []bench.Target
	_, port, _ := strings.Cut(d.layout.Listen, ":")
	for _, c := range sample.Sites() {
		for _, p := range c.Pages {
			if p.Published {
				targets = append(targets, bench.Target{URL: "http://" + c.Site.Host + ":" + port + p.Path})
			}
		}
	}
	fmt.Fprintf(d.out, "\nLoading the balancer for %s: 32 users, %d URLs...\n", d.load, len(targets))
	res, err := bench.Run(ctx, bench.Config{URLs: targets, Concurrency: 32, Duration: d.load, Random: true}, nil)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	res.WriteSiege(d.out)
	fmt.Fprintln(d.out, "\nThe cluster keeps running; press Ctrl-C to stop.")
	return nil
}

// indent prefixes each write with two spaces, to nest build lines under the
// demo's own.
type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	if _, err := i.w.Write(append([]byte("  "), p...)); err != nil {
		return 0, err
	}
	return len(p), nil
}
