package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/publish"
)

func newBalancerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "balancer [NAME]",
		Short: "Run the load balancer in front of the web nodes",
		Long: `Run the balancer of the cluster file: virtual hosts to pools of nodes, health
checks, retries, the edge cache, TLS, and the manager page (balancer.manager,
reachable from balancer.manager_allow only).

SIGHUP (or 'orchard balancer reload') reloads the cluster file: access lists,
deny patterns, pools, virtual hosts, methods, weights, health settings, retries,
member timeouts, cache size and the TLS certificate apply at once; listen
addresses, workers, the access log and server timeouts need a restart and are
named in the log (and in the reply of 'orchard balancer reload'). A file with
mistakes is logged and the running configuration kept. Manager changes
(disable, drain, weight) survive reloads and restarts. SIGTERM or Ctrl-C lets
requests in flight finish, then stops.

A tier of balancers ([[balancer.peer]] with [balancer.vrrp], see
docs/balancer-tier.md) runs one balancer per machine: 'orchard balancer NAME'.
There SIGTERM first fails the health check keepalived runs, keeps serving for
balancer.vrrp.grace while the virtual address moves to another balancer, and
only then drains and stops: a planned restart fails no request.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := configPath(cmd)
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			cfg, err := loadBalancerConfig(path, name)
			if err != nil {
				if errors.Is(err, os.ErrNotExist) {
					return usagef("%v (give the cluster file with --config FILE or $ORCHARD_CONFIG)", err)
				}
				return usageError{err}
			}
			logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
			if name != "" {
				logger = logger.With("balancer", name)
			}
			opts, closeLog, err := balancerOptions(cfg, logger)
			if err != nil {
				return usageError{err}
			}
			setWorkers(cfg.Balancer.Workers, logger)
			opts.Loops = -1
			if loopsOn(cfg) && opts.CacheBytes == 0 {
				opts.Loops = giveLoopsCPUs()
				opts.LoopsKeepCPUs = true
			}
			defer closeLog()
			var metrics http.Handler // set once the balancer exists (metrics.go)
			opts.Metrics = lateHandler(&metrics)
			b := balancer.New(opts)
			metrics = balancerMetrics(b, cfg.Balancer.Data, logger)
			ctx := cmd.Context()
			if err := b.Listen(ctx); err != nil {
				b.Close()
				if orchard.ErrorCode(err) == orchard.EINVALID {
					return usagef("balancer: %s", orchard.ErrorMessage(err))
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "balancer on http://%s", b.Addr())
			if a := b.TLSAddr(); a != "" {
				fmt.Fprintf(cmd.OutOrStdout(), " and https://%s", a)
			}
			fmt.Fprintf(cmd.OutOrStdout(), ", manager at %s\n", cfg.Balancer.Manager)

			// The pid file is written once SIGHUP is caught, so
			// 'orchard balancer reload' never signals a process that
			// would die of it.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			dir := cfg.Balancer.Data
			if err := writePIDFile(dir); err != nil {
				b.Close()
				return err
			}
			defer os.Remove(filepath.Join(dir, balancerPIDFile))
			var watch *deathWatch
			track := trackFile(dir)
			if name != "" && cfg.Balancer.VRRP.Address != "" {
				if err := setTrack(track, true); err != nil {
					logger.Warn("keepalived sees this balancer only through its health check", "err", err)
				} else if watch, err = startDeathWatch(track); err != nil {
					logger.Warn("no watcher: if this process dies, keepalived notices at its next health check", "err", err)
				}
			}
			for seq := 1; ; seq++ {
				select {
				case <-ctx.Done():
					if name != "" {
						leaveTier(b, track, cfg.Balancer.VRRP.Grace.Duration, logger)
					}
					err := b.Close()
					if watch != nil {
						watch.stop()
					}
					return err
				case <-hup:
					rep := reloadBalancer(b, path, name, cfg, logger)
					rep.Seq = seq
					if err := writeReloadReport(dir, rep); err != nil {
						logger.Error("reload report", "err", err)
					}
				}
			}
		},
	}
	cmd.AddCommand(newBalancerReloadCmd(), newKeepalivedConfigCmd(), newBalancerCheckCmd(), newBalancerWatchCmd())
	return cmd
}

// loadBalancerConfig loads the cluster file with cfg.Balancer resolved for
// the balancer called name ("" for a file with a single balancer), so the
// rest of the command reads one balancer's settings.
func loadBalancerConfig(path, name string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if cfg.Balancer, err = cfg.BalancerNamed(name); err != nil {
		return nil, err
	}
	return cfg, nil
}

// leaveTier is the first half of a planned stop in a tier: the health
// check fails, so keepalived gives the virtual address to another
// balancer, and this one keeps serving for grace, until clients' packets
// go to the new holder. Close then drains what is still in flight.
func leaveTier(b *balancer.Balancer, track string, grace time.Duration, logger *slog.Logger) {
	b.Leave()
	if err := setTrack(track, false); err != nil { // at once, not at the next check
		logger.Warn("stopping", "err", err)
	}
	logger.Info("stopping: health check fails now; serving on while the virtual address moves", "grace", grace)
	time.Sleep(grace) // the address moves on keepalived's clock, not on an event this process sees
	logger.Info("stopping: draining")
}

// reloadBalancer reads the cluster file again and applies it; a bad file
// changes nothing. It logs and returns what was applied and what keeps its
// running value until a restart, by cluster-file key. start is the
// configuration the process started with (workers and the access log are
// set up once).
func reloadBalancer(b *balancer.Balancer, path, name string, start *config.Config, logger *slog.Logger) reloadReport {
	rep := reloadReport{PID: os.Getpid(), Time: time.Now().UTC()}
	cfg, err := loadBalancerConfig(path, name)
	if err != nil {
		rep.Error = "the cluster file has mistakes: " + err.Error()
		logger.Error("reload refused: the cluster file has mistakes; keeping the running configuration", "err", err)
		return rep
	}
	opts, closeLog, err := balancerOptions(cfg, logger)
	closeLog() // the access log stays the one opened at start
	var res balancer.ReloadResult
	if err == nil {
		res, err = b.Reload(opts)
	}
	if err != nil {
		rep.Error = orchard.ErrorMessage(err)
		logger.Error("reload refused; keeping the running configuration", "err", rep.Error)
		return rep
	}
	rep.OK = true
	for _, f := range res.Applied {
		rep.Applied = append(rep.Applied, balancerKey(f))
	}
	for _, f := range res.Restart {
		rep.Restart = append(rep.Restart, balancerKey(f))
	}
	if cfg.Balancer.Workers != start.Balancer.Workers {
		rep.Restart = append(rep.Restart, "balancer.workers")
	}
	if loopsOn(cfg) != loopsOn(start) {
		rep.Restart = append(rep.Restart, "balancer.event_loops")
	}
	if cfg.Balancer.AccessLog != start.Balancer.AccessLog {
		rep.Restart = append(rep.Restart, "balancer.access_log")
	}
	if len(rep.Restart) > 0 {
		logger.Warn("reloaded, but some changes need a restart; they keep their running value",
			"file", path, "applied", rep.Applied, "restart", rep.Restart)
	} else {
		logger.Info("reloaded", "file", path, "applied", rep.Applied)
	}
	return rep
}

// balancerKey names a balancer.Options field by its cluster-file key.
func balancerKey(field string) string {
	switch field {
	case "Listen", "Control":
		return "balancer." + strings.ToLower(field)
	case "TLSListen":
		return "balancer.tls_listen"
	case "TLSCert":
		return "balancer.tls_cert"
	case "TLSKey":
		return "balancer.tls_key"
	case "RedirectHTTPS":
		return "balancer.redirect_https"
	case "ManagerPath":
		return "balancer.manager"
	case "ManagerAllow":
		return "balancer.manager_allow"
	case "DataDir":
		return "balancer.data"
	case "Pools":
		return "balancer.pool"
	case "VHosts":
		return "balancer.vhost"
	case "Health":
		return "balancer.health"
	case "Retries":
		return "balancer.retries"
	case "RetryAfter":
		return "balancer.retry"
	case "MaxConns":
		return "balancer.max_conns"
	case "CacheBytes":
		return "balancer.cache_bytes"
	case "ReadHeaderTimeout":
		return "balancer.timeouts.read_header"
	case "IdleTimeout":
		return "balancer.timeouts.idle"
	case "WriteTimeout":
		return "balancer.timeouts.write"
	case "DialTimeout":
		return "balancer.timeouts.dial"
	case "ResponseTimeout":
		return "balancer.timeouts.response"
	case "DrainTimeout":
		return "balancer.timeouts.drain"
	}
	return field // not in the cluster file (limits with built-in values)
}

// balancerOptions maps the cluster file to balancer options, opening the
// access log. The returned func closes it.
func balancerOptions(cfg *config.Config, logger *slog.Logger) (balancer.Options, func(), error) {
	bc := &cfg.Balancer
	o := balancer.Options{
		Listen:        bc.Listen,
		TLSListen:     bc.TLSListen,
		TLSCert:       bc.TLSCert,
		TLSKey:        bc.TLSKey,
		RedirectHTTPS: bc.RedirectHTTPS,
		PushedCerts:   cfg.ACME != nil, // the master sends them
		Control:       bc.Control,
		ControlAuth: func(h http.Handler) http.Handler {
			return publish.RequireSignature(cfg.Secret, publish.BalancerTarget, h)
		},
		ManagerPath: bc.Manager,
		DataDir:     bc.Data,
		Logger:      logger,
		Health: balancer.HealthOptions{
			Interval: bc.Health.Interval.Duration,
			Timeout:  bc.Health.Timeout.Duration,
			Rise:     bc.Health.Rise,
			Fall:     bc.Health.Fall,
		},
		Retries: bc.Retries,

		ReadHeaderTimeout: bc.Timeouts.ReadHeader.Duration,
		IdleTimeout:       bc.Timeouts.Idle.Duration,
		WriteTimeout:      bc.Timeouts.Write.Duration,
		DialTimeout:       bc.Timeouts.Dial.Duration,
		ResponseTimeout:   bc.Timeouts.Response.Duration,
		DrainTimeout:      bc.Timeouts.Drain.Duration,
		RetryAfter:        bc.RetryAfter.Duration,
		MaxConns:          bc.MaxConns,
		Version:           versionString(),
	}
	if bc.CacheBytes > 0 {
		o.CacheBytes = bc.CacheBytes
	}
	o.Peers = balancerPeers(cfg)
	var err error
	if o.ManagerAllow, err = parsePrefixes("balancer.manager_allow", bc.ManagerAllow); err != nil {
		return o, func() {}, err
	}
	o.ManagerAllow = append(make([]netip.Prefix, 0, len(o.ManagerAllow)), o.ManagerAllow...) // never nil: empty = nobody
	for _, p := range bc.Pools {
		pool := balancer.Pool{
			Name:         p.Name,
			Method:       p.Method,
			MaxInFlight:  p.MaxInFlight,
			QueueSize:    p.QueueSize,
			QueueTimeout: p.QueueTimeout.Duration,
			SlowStart:    p.SlowStart.Duration,
			FailOnStatus: p.FailOnStatus,
		}
		for _, m := range p.Members {
			pool.Members = append(pool.Members, orchard.Member{
				Name: m.Name, Addr: m.Listen, HealthAddr: m.Control, Weight: m.Weight, Standby: m.Standby,
			})
		}
		o.Pools = append(o.Pools, pool)
	}
	for _, v := range bc.VHosts {
		allow, err := parsePrefixes("balancer.vhost.deny_allow", v.DenyAllow)
		if err != nil {
			return o, func() {}, err
		}
		o.VHosts = append(o.VHosts, balancer.VHost{Hosts: v.Hosts, Pool: v.Pool, Deny: v.Deny, DenyAllow: allow})
	}
	closeLog := func() {}
	switch bc.AccessLog {
	case "":
	case "-":
		o.AccessLog = os.Stdout
	default:
		if err := os.MkdirAll(filepath.Dir(bc.AccessLog), 0o750); err != nil {
			return o, closeLog, fmt.Errorf("access log: %w", err)
		}
		f, err := os.OpenFile(bc.AccessLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return o, closeLog, fmt.Errorf("access log: %w", err)
		}
		o.AccessLog = io.Writer(f)
		closeLog = func() { f.Close() }
	}
	return o, closeLog, nil
}

func parsePrefixes(key string, cidrs []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a CIDR", key, c)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// balancerPeers wires the other balancers of the cluster file (all but
// cfg.Balancer.Name) as peers over the signed control protocol: manager
// actions reach them and the manager page shows their view.
func balancerPeers(cfg *config.Config) []balancer.Peer {
	hc := publish.NewHTTPClient(2)
	var peers []balancer.Peer
	for _, t := range balancerTargets(cfg) {
		if t.Name == cfg.Balancer.Name || len(cfg.Balancer.Peers) == 0 {
			continue
		}
		peers = append(peers, balancer.Peer{
			Name: t.Name,
			Set: func(ctx context.Context, pool, member string, a orchard.MemberAction) error {
				_, err := publish.SetBalancerMember(ctx, hc, cfg.Secret, t, pool, member, a)
				return err
			},
			Members: func(ctx context.Context) ([]orchard.MemberSetting, error) {
				return publish.BalancerMembers(ctx, hc, cfg.Secret, t)
			},
		})
	}
	return peers
}

// loopsOn reports the balancer's event_loops setting (default true).
func loopsOn(cfg *config.Config) bool {
	return cfg.Balancer.EventLoops == nil || *cfg.Balancer.EventLoops
}
