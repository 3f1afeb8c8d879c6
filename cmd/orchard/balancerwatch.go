package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

// A balancer of a tier that dies without a stop (kill -9, a crash, the OOM
// killer) leaves its kernel refusing every connection to the virtual
// address until keepalived's next health check, up to a second later:
// clients that retry at once fail thousands of requests in that second.
// keepalived's own process tracking would see the death at once, but it
// listens for process events, which do not work inside a network
// namespace (containers). So each tier balancer starts a watcher, a
// second small process that reads a pipe only the balancer holds: the
// pipe ends when the balancer does, however it ends, and the watcher then
// writes 1 to the track file keepalived watches (inotify), which gives up
// the address within milliseconds. The balancer writes 0 there when it
// serves, and 1 itself when it stops as planned.

const watchUse = "watch"

// trackFile is the keepalived track file of the balancer whose data
// directory is dir: 0 while it serves, 1 when it does not.
func trackFile(dir string) string { return filepath.Join(dir, "keepalived-track") }

// setTrack writes the balancer's state to its track file.
func setTrack(file string, serving bool) error {
	v := "1\n"
	if serving {
		v = "0\n"
	}
	if err := os.WriteFile(file, []byte(v), 0o644); err != nil {
		return fmt.Errorf("keepalived track file: %w", err)
	}
	return nil
}

// deathWatch is the running watcher of this balancer.
type deathWatch struct {
	cmd *exec.Cmd
	ctl *os.File // the pipe's write end: a 'q' says the stop is planned; EOF alone, that this process is gone
}

// startDeathWatch starts the watcher of this process for track file file.
func startDeathWatch(file string) (*deathWatch, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("balancer watcher: %w", err)
	}
	defer r.Close()
	exe, err := os.Executable()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("balancer watcher: %w", err)
	}
	cmd := exec.Command(exe, "balancer", watchUse, "--track-file", file)
	cmd.ExtraFiles = []*os.File{r}
	cmd.Stderr = os.Stderr
	// Out of the terminal's process group: Ctrl-C stops the balancer,
	// which then stops the watcher as planned.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("balancer watcher: %w", err)
	}
	return &deathWatch{cmd: cmd, ctl: w}, nil
}

// stop ends the watcher: the stop is a planned one.
func (d *deathWatch) stop() {
	d.ctl.Write([]byte{'q'})
	d.ctl.Close()
	d.cmd.Wait()
}

func newBalancerWatchCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:    watchUse,
		Short:  "Mark a tier balancer failed for keepalived the moment it dies (started by 'orchard balancer NAME')",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usagef("--track-file is required")
			}
			logger := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("watcher", os.Getpid())
			return watchBalancer(os.NewFile(3, "balancer"), file, logger) // fd 3: the balancer's pipe
		},
	}
	cmd.Flags().StringVar(&file, "track-file", "", "keepalived's track `FILE` for this balancer")
	return cmd
}

// watchBalancer returns when the balancer says its stop is planned, or
// after marking it failed in file once the pipe ends without that word
// (the balancer is gone) or this process is told to stop.
func watchBalancer(parent *os.File, file string, logger *slog.Logger) error {
	msg := make(chan byte, 1)
	go func() {
		b := make([]byte, 1)
		if n, _ := parent.Read(b); n == 1 {
			msg <- b[0]
		}
		close(msg)
	}()
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(term)
	select {
	case c := <-msg:
		if c == 'q' {
			return nil
		}
	case <-term:
	}
	if err := setTrack(file, false); err != nil {
		return err
	}
	logger.Warn("the balancer is gone without a planned stop: marked failed for keepalived, which gives up the virtual address", "track_file", file)
	return nil
}
