package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/orchardhq/orchard/monitor"
)

// minProbeEvery is the shortest interval orchard probe accepts.
const minProbeEvery = 10 * time.Second

func newProbeCmd() *cobra.Command {
	var (
		every, timeout, forDur time.Duration
		method, host, dbPath   string
		report, file, serve    string
		onFail                 string
		failAfter              int
	)
	cmd := &cobra.Command{
		Use:   "probe [URL...]",
		Short: "Watch URLs' response times and uptime",
		Long: `Request each URL on a schedule (HEAD every 5 minutes by default), record
status and DNS, connect, TLS, first-byte and total times in a SQLite file,
and print each result. After --fail-after consecutive failures a URL is down:
a warning is logged and --on-fail runs; it runs again when the URL is back.

URLs come from the arguments and/or --file (one a line: URL, METHOD URL or
METHOD URL HOST; # comments). --report writes an HTML report (response-time
graph, uptime) after every round; --serve ADDR serves a live status page.

With --for the probe stops after that long and exits 1 if a URL went down.
The --on-fail command runs with sh -c and gets ORCHARD_PROBE_URL,
ORCHARD_PROBE_STATE (down|up), ORCHARD_PROBE_STATUS and ORCHARD_PROBE_ERROR
in its environment.`,
		Example: `  orchard probe https://www.example.com/ --every 1m
  orchard probe http://10.0.0.5/ --host www.example.com --method GET --for 1h --report probe.html
  orchard probe --file urls.txt --every 20s --serve 127.0.0.1:8090 --on-fail 'mail -s "$ORCHARD_PROBE_URL $ORCHARD_PROBE_STATE" ops'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var targets []monitor.ProbeTarget
			for _, a := range args {
				t, err := monitor.ParseProbeTarget(method, a, host)
				if err != nil {
					return usageError{err}
				}
				targets = append(targets, t)
			}
			if file != "" {
				f, err := os.Open(file)
				if err != nil {
					return usageError{err}
				}
				ft, err := monitor.ParseURLFile(f)
				f.Close()
				if err != nil {
					return usagef("%s: %v", file, err)
				}
				targets = append(targets, ft...)
			}
			if len(targets) == 0 {
				return usagef("give a URL to watch, or --file FILE")
			}
			if every < minProbeEvery {
				return usagef("--every %s is too short: at least %s", every, minProbeEvery)
			}
			if timeout <= 0 || timeout > every {
				return usagef("--timeout must be positive and at most --every")
			}
			if forDur < 0 || failAfter < 1 {
				return usagef("--for must not be negative and --fail-after must be at least 1")
			}
			return runProbe(cmd, probeRun{
				targets: targets, every: every, timeout: timeout, forDur: forDur, failAfter: failAfter,
				dbPath: dbPath, report: report, serve: serve, onFail: onFail,
			})
		},
	}
	f := cmd.Flags()
	f.DurationVar(&every, "every", 5*time.Minute, "time between checks of each URL (at least 10s)")
	f.StringVar(&method, "method", "HEAD", "HTTP method for URLs given as arguments")
	f.StringVar(&host, "host", "", "Host header to send (e.g. a site name when the URL names an IP)")
	f.DurationVar(&timeout, "timeout", 10*time.Second, "time allowed for each request")
	f.DurationVar(&forDur, "for", 0, "stop after this long and exit 1 if a URL went down (default: run until Ctrl-C)")
	f.StringVar(&dbPath, "db", "orchard-probe.db", "SQLite file the results go to")
	f.StringVar(&report, "report", "", "write an HTML report to this file after every round")
	f.StringVar(&file, "file", "", "file of URLs to watch, one a line")
	f.StringVar(&serve, "serve", "", "serve a live status page on this address (e.g. 127.0.0.1:8090)")
	f.StringVar(&onFail, "on-fail", "", "command (sh -c) to run when a URL goes down or comes back")
	f.IntVar(&failAfter, "fail-after", 3, "consecutive failures before a URL counts as down")
	return cmd
}

type probeRun struct {
	targets                []monitor.ProbeTarget
	every, timeout, forDur time.Duration
	failAfter              int
	dbPath, report, serve  string
	onFail                 string
}

func runProbe(cmd *cobra.Command, o probeRun) error {
	ctx := cmd.Context()
	logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)).With("component", "probe")
	if dir := filepath.Dir(o.dbPath); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
	}
	db, err := monitor.OpenProbeDB(context.Background(), o.dbPath)
	if err != nil {
		return err
	}
	defer db.Close()

	var wg sync.WaitGroup
	defer wg.Wait() // hooks finish before the db closes
	if o.serve != "" {
		status, err := listenAndServe(ctx, "status page", o.serve, &http.Server{
			Handler:           monitor.StatusHandler(db, 30, nil),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       60 * time.Second,
			MaxHeaderBytes:    16 << 10,
		}, logger.With("listener", "status"))
		if err != nil {
			return usagef("--serve %s: %v", o.serve, err)
		}
		defer status.Close() // deferred after db.Close, so it runs before
		fmt.Fprintf(cmd.OutOrStdout(), "status page on http://%s/\n", status.Addr())
	}

	out := cmd.OutOrStdout()
	var outMu sync.Mutex
	var rounds int
	writeReport := func() {
		if o.report == "" {
			return
		}
		if err := writeProbeReport(db, o.report); err != nil {
			logger.Error("report", "file", o.report, "err", err)
		}
	}
	p := monitor.NewProber(monitor.ProbeOptions{
		Targets: o.targets, Every: o.every, Timeout: o.timeout, FailAfter: o.failAfter, DB: db, Logger: logger,
		OnResult: func(r monitor.Result) {
			outMu.Lock()
			defer outMu.Unlock()
			fmt.Fprintln(out, r.String())
			rounds++
			if rounds%len(o.targets) == 0 {
				writeReport()
			}
		},
		OnChange: func(_ context.Context, r monitor.Result, down bool) {
			if o.onFail == "" {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				runHook(o.onFail, r, down, logger)
			}()
		},
	})
	// --for counts from the first check, not from the start of the
	// command (opening the database can take a while on a busy machine).
	if o.forDur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.forDur)
		defer cancel()
	}
	if err := p.Run(ctx); err != nil {
		return err
	}
	outMu.Lock()
	writeReport()
	outMu.Unlock()
	if o.report != "" {
		fmt.Fprintf(out, "report written to %s\n", o.report)
	}
	if o.forDur > 0 && p.WentDown() {
		return fmt.Errorf("probe: a URL went down (%d consecutive failures)", o.failAfter)
	}
	return nil
}

// writeProbeReport writes the report to a temporary file and renames it, so
// a reader never sees half a page.
func writeProbeReport(db *monitor.ProbeDB, path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := writeFileAtomic(path, 0o644, func(w io.Writer) error {
		return monitor.WriteReport(ctx, w, db, monitor.ReportOptions{Title: "orchard probe report"})
	})
	return err
}

// runHook runs the --on-fail command with the result in its environment
// (never in its command line), for at most a minute.
func runHook(command string, r monitor.Result, down bool, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	state := "up"
	if down {
		state = "down"
	}
	c := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	c.Env = append(os.Environ(),
		"ORCHARD_PROBE_URL="+r.URL,
		"ORCHARD_PROBE_STATE="+state,
		"ORCHARD_PROBE_STATUS="+strconv.Itoa(r.Status),
		"ORCHARD_PROBE_ERROR="+r.Err,
	)
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	if err := c.Run(); err != nil {
		logger.Error("--on-fail command", "url", r.URL, "state", state, "err", err)
	}
}
