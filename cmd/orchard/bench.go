package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/orchardhq/orchard/bench"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// benchFlags are `orchard bench`'s flags, siege's where siege has one.
type benchFlags struct {
	concurrent  int
	time        string
	reps        int
	delay       string
	benchmark   bool
	file        string
	headers     []string
	userAgent   string
	internet    bool
	rate        float64
	json        bool
	timeout     string
	noKeepAlive bool
	quiet       bool
	insecure    bool
}

func newBenchCmd() *cobra.Command {
	f := &benchFlags{}
	cmd := &cobra.Command{
		Use:   "bench [flags] URL...",
		Short: "Load-test URLs like siege, with latency percentiles",
		Long: `Load-test one or more URLs the way siege does, and print siege's summary
(Transactions, Availability, Elapsed time, ... Shortest transaction) plus
latency percentiles (p50, p90, p99, p99.9), status codes and errors by kind.

Closed model (siege's): -c users each send a request, wait for the response,
wait a random 0..-d seconds, and repeat, for -t time or -r repetitions each.
Open model (--rate R): requests start at fixed times, R per second, over -c
connections, and latency counts from the intended start, so a server that
stalls cannot hide it (no coordinated omission).

Connections are kept alive unless --no-keepalive. Ctrl-C stops the run and
prints the summary so far.`,
		Example: `  orchard bench -c 64 -t 10S -b http://127.0.0.1:8000/
  orchard bench -c 350 -d 1 -t 1M -H 'Host: alpha.localhost' http://127.0.0.1:8000/
  orchard bench -f urls.txt --internet -c 50 -r 100
  orchard bench --rate 2000 -c 64 -t 30S --json http://127.0.0.1:8000/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBench(cmd, f, args)
		},
	}
	fl := cmd.Flags()
	fl.IntVarP(&f.concurrent, "concurrent", "c", bench.DefaultConcurrency, "concurrent users (connections)")
	fl.StringVarP(&f.time, "time", "t", "", "run time: 30S, 1M, 1H (a bare number is minutes, as in siege) or a Go duration")
	fl.IntVarP(&f.reps, "reps", "r", 0, "requests per user (with --rate: per connection)")
	fl.StringVarP(&f.delay, "delay", "d", "0", "random delay 0..N seconds between a user's requests (or a Go duration)")
	fl.BoolVarP(&f.benchmark, "benchmark", "b", false, "benchmark mode: no delay between requests")
	fl.StringVarP(&f.file, "file", "f", "", "file of URLs in siege's format (URL [METHOD [data|<file]] a line, # comments)")
	fl.StringArrayVarP(&f.headers, "header", "H", nil, "extra request header 'Name: value' (repeatable; 'Host: name' sets the virtual host)")
	fl.StringVarP(&f.userAgent, "user-agent", "A", "", "User-Agent header")
	fl.BoolVarP(&f.internet, "internet", "i", false, "pick each request's URL at random")
	fl.Float64Var(&f.rate, "rate", 0, "open model: start this many requests per second in total")
	fl.BoolVarP(&f.json, "json", "j", false, "print the result as JSON on stdout")
	fl.StringVar(&f.timeout, "timeout", "30S", "timeout for each request (a bare number is seconds)")
	fl.BoolVar(&f.noKeepAlive, "no-keepalive", false, "open a new connection for every request")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress line")
	fl.BoolVarP(&f.insecure, "insecure", "k", false, "do not verify https certificates (self-signed test servers)")
	return cmd
}

func runBench(cmd *cobra.Command, f *benchFlags, args []string) error {
	cfg, err := f.config(args)
	if err != nil {
		return usageError{err}
	}
	stderr := cmd.ErrOrStderr()
	var progress func(bench.Snapshot)
	if file, ok := stderr.(*os.File); ok && !f.quiet && term.IsTerminal(int(file.Fd())) {
		progress = progressLine(stderr)
	}
	res, err := bench.Run(cmd.Context(), cfg, progress)
	if progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		return usageError{err}
	}
	out := cmd.OutOrStdout()
	if f.json {
		return res.WriteJSON(out)
	}
	return res.WriteSiege(out)
}

// config turns the flags and URL arguments into a bench.Config.
func (f *benchFlags) config(args []string) (bench.Config, error) {
	cfg := bench.Config{
		Concurrency: f.concurrent,
		Reps:        f.reps,
		Random:      f.internet,
		Rate:        f.rate,
		NoKeepAlive: f.noKeepAlive,
	}
	if f.insecure {
		cfg.TLS = &tls.Config{InsecureSkipVerify: true}
	}
	if f.concurrent < 1 {
		return cfg, fmt.Errorf("-c %d: want at least 1 user", f.concurrent)
	}
	if f.reps < 0 {
		return cfg, fmt.Errorf("-r %d: want a positive number of repetitions", f.reps)
	}
	if f.time != "" {
		d, err := positiveDuration("-t", f.time, time.Minute)
		if err != nil {
			return cfg, err
		}
		cfg.Duration = d
	}
	if !f.benchmark {
		d, err := bench.ParseDuration(f.delay, time.Second)
		if err != nil {
			return cfg, fmt.Errorf("-d: %w", err)
		}
		cfg.Delay = d
	}
	t, err := positiveDuration("--timeout", f.timeout, time.Second)
	if err != nil {
		return cfg, err
	}
	cfg.Timeout = t
	for _, h := range f.headers {
		hdr, err := bench.ParseHeader(h)
		if err != nil {
			return cfg, fmt.Errorf("-H: %w", err)
		}
		cfg.Headers = append(cfg.Headers, hdr)
	}
	if f.userAgent != "" {
		cfg.Headers = append(cfg.Headers, bench.Header{Name: "User-Agent", Value: f.userAgent})
	}
	if f.file != "" {
		targets, err := bench.ReadURLFile(f.file)
		if err != nil {
			return cfg, fmt.Errorf("-f: %w", err)
		}
		cfg.URLs = append(cfg.URLs, targets...)
	}
	for _, a := range args {
		if !strings.Contains(a, "://") {
			a = "http://" + a
		}
		cfg.URLs = append(cfg.URLs, bench.Target{URL: a})
	}
	if len(cfg.URLs) == 0 {
		return cfg, fmt.Errorf("no URL: give one or more URLs or -f FILE")
	}
	if cfg.Rate > 0 && cfg.Delay > 0 {
		return cfg, fmt.Errorf("--rate and -d do not mix: the rate decides when requests start")
	}
	return cfg, cfg.Validate()
}

// positiveDuration parses the duration s of flag name (a bare number counts
// in unit), which must be above zero.
func positiveDuration(name, s string, unit time.Duration) (time.Duration, error) {
	d, err := bench.ParseDuration(s, unit)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%s %s: want a positive time", name, s)
	}
	return d, nil
}

// progressLine returns a progress function that redraws one status line.
func progressLine(w io.Writer) func(bench.Snapshot) {
	var last bench.Snapshot
	return func(s bench.Snapshot) {
		rate := 0.0
		if dt := (s.Elapsed - last.Elapsed).Seconds(); dt > 0 {
			rate = float64(s.Transactions-last.Transactions) / dt
		}
		last = s
		fmt.Fprintf(w, "\r\033[K%6.1fs  %s hits  %s trans/sec  %s failed  %.2f MB",
			s.Elapsed.Seconds(), strconv.FormatInt(s.Transactions, 10),
			strconv.FormatFloat(rate, 'f', 0, 64), strconv.FormatInt(s.Failed, 10),
			float64(s.Bytes)/(1<<20))
	}
}
