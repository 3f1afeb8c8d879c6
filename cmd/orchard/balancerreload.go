package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// 'orchard balancer reload' talks to the running balancer through its data
// directory: the balancer writes its pid there, the command sends it
// SIGHUP, and the balancer answers with a report file. Only a user allowed
// to signal the process (and read the directory) can reload it, and no
// listener has to accept the request.
const (
	balancerPIDFile    = "balancer.pid"
	balancerReloadFile = "reload.json"
)

// reloadReport is the outcome of one reload, written by the balancer to
// DataDir/reload.json.
type reloadReport struct {
	PID     int       `json:"pid"`
	Seq     int       `json:"seq"` // reloads of this process, from 1
	Time    time.Time `json:"time"`
	OK      bool      `json:"ok"`
	Error   string    `json:"error,omitempty"` // why the reload was refused
	Applied []string  `json:"applied"`         // cluster-file keys that changed and apply
	Restart []string  `json:"restart"`         // keys that changed but keep their running value until a restart
}

func newBalancerReloadCmd() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "reload [NAME]",
		Short: "Make the running balancer read the cluster file again",
		Long: `Send SIGHUP to the balancer running with this cluster file (its pid is in
balancer.data) and print what it applied and which changed settings keep their
running value until a restart. Exits non-zero if the balancer refused the file.
In a tier of balancers, NAME says which one (its data directory).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			cfg, err := loadBalancerConfig(configPath(cmd), name)
			if err != nil {
				// The balancer would refuse it too; say so before signalling.
				return usageError{fmt.Errorf("nothing was reloaded: %w", err)}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			rep, err := requestReload(ctx, cfg.Balancer.Data, func(pid int) error {
				if !looksLikeBalancer(pid) {
					return syscall.ESRCH // the pid was reused by another program
				}
				return syscall.Kill(pid, syscall.SIGHUP)
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !rep.OK {
				return fmt.Errorf("reload refused, the running configuration is kept: %s", rep.Error)
			}
			switch {
			case len(rep.Applied) == 0 && len(rep.Restart) == 0:
				fmt.Fprintln(out, "reloaded: nothing changed")
			case len(rep.Applied) == 0:
				fmt.Fprintln(out, "reloaded: nothing applied")
			default:
				fmt.Fprintf(out, "reloaded: applied %s\n", strings.Join(rep.Applied, ", "))
			}
			if len(rep.Restart) > 0 {
				fmt.Fprintf(out, "needs a restart (running value kept): %s\n", strings.Join(rep.Restart, ", "))
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "how long to wait for the balancer's answer")
	return cmd
}

// requestReload signals the balancer whose pid is in dir and waits for its
// report of that reload.
func requestReload(ctx context.Context, dir string, signal func(pid int) error) (reloadReport, error) {
	data, err := os.ReadFile(filepath.Join(dir, balancerPIDFile))
	if errors.Is(err, fs.ErrNotExist) {
		return reloadReport{}, fmt.Errorf("no balancer is running with data directory %s (no %s)", dir, balancerPIDFile)
	} else if err != nil {
		return reloadReport{}, fmt.Errorf("balancer pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return reloadReport{}, fmt.Errorf("balancer pid file %s is damaged", filepath.Join(dir, balancerPIDFile))
	}
	prev, _ := readReloadReport(dir)
	if prev.PID != pid {
		prev.Seq = 0
	}
	if err := signal(pid); errors.Is(err, syscall.ESRCH) {
		return reloadReport{}, fmt.Errorf("no balancer is running (stale pid %d in %s)", pid, dir)
	} else if err != nil {
		return reloadReport{}, fmt.Errorf("signal balancer %d: %w", pid, err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if rep, err := readReloadReport(dir); err == nil && rep.PID == pid && rep.Seq > prev.Seq {
			return rep, nil
		}
		select {
		case <-ctx.Done():
			return reloadReport{}, fmt.Errorf("balancer %d did not report its reload: %w", pid, ctx.Err())
		case <-tick.C:
		}
	}
}

// looksLikeBalancer reports whether pid may be the orchard balancer: after
// a kill -9 the pid file stays, and its pid may since belong to another
// program, which must not get a SIGHUP. It checks that the process is an
// orchard; where /proc cannot tell, it says yes.
func looksLikeBalancer(pid int) bool {
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist)
	}
	return bytes.Contains(cmdline, []byte("orchard"))
}

func readReloadReport(dir string) (reloadReport, error) {
	var rep reloadReport
	data, err := os.ReadFile(filepath.Join(dir, balancerReloadFile))
	if err != nil {
		return rep, err
	}
	return rep, json.Unmarshal(data, &rep)
}

// writeReloadReport replaces dir/reload.json at once (a temporary file
// renamed), so a reader never sees half a report.
func writeReloadReport(dir string, rep reloadReport) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return writeStateFile(dir, balancerReloadFile, append(data, '\n'))
}

// writePIDFile records the balancer's pid in dir.
func writePIDFile(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("balancer pid file: %w", err)
	}
	return writeStateFile(dir, balancerPIDFile, []byte(strconv.Itoa(os.Getpid())+"\n"))
}

// writeStateFile writes data to the file name in the balancer's data dir
// dir, atomically, readable by its owner only.
func writeStateFile(dir, name string, data []byte) error {
	_, err := writeFileAtomic(filepath.Join(dir, name), 0o600, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
