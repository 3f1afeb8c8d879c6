package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// child is one role of the demo cluster, run as a separate process of this
// same binary so that killing it is a real failure.
type child struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error
}

// execPrefixEnv names the variable that holds a command the demo runs its
// roles through, such as qemu-arm: under user-mode emulation without
// binfmt_misc the kernel cannot exec an ARM binary itself, so the demo's
// re-execution of its own binary needs the emulator named.
const execPrefixEnv = "ORCHARD_EXEC_PREFIX"

// roleCommand is the command that runs `EXE ARGS...` through prefix (words
// separated by spaces, such as "qemu-arm -cpu cortex-a7"; "" runs EXE
// itself).
func roleCommand(prefix, exe string, args ...string) *exec.Cmd {
	words := strings.Fields(prefix)
	if len(words) == 0 {
		return exec.Command(exe, args...)
	}
	return exec.Command(words[0], append(append(words[1:], exe), args...)...)
}

// startChild runs `EXE ARGS...` (through $ORCHARD_EXEC_PREFIX when set)
// with its output in logDir/NAME.log.
func startChild(exe, name, logDir string, args ...string) (*child, error) {
	if err := os.MkdirAll(logDir, 0o750); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	logf, err := os.OpenFile(filepath.Join(logDir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := roleCommand(os.Getenv(execPrefixEnv), exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: Ctrl-C reaches the demo, which stops the
	// children in order instead of all of them at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, log: logf, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		logf.Close()
		close(c.done)
	}()
	return c, nil
}

// restartHint is a shell command that starts the child again by hand: the
// binary's own path, since `orchard` need not be on PATH.
func (c *child) restartHint() string {
	words := make([]string, 0, len(c.cmd.Args))
	words = append(words, shellQuote(c.cmd.Path))
	for _, a := range c.cmd.Args[1:] {
		words = append(words, shellQuote(a))
	}
	return strings.Join(words, " ")
}

// shellQuote quotes s for sh when it holds anything but plain characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// demoBinary returns the binary the demo runs its roles with and prints in
// its hints. A binary built by `go run` lives in a go-build temporary
// directory that disappears when go run exits, so it is copied to
// DIR/bin/orchard first: the restart hints keep working, during the demo
// and after it.
func demoBinary(exe, dir string) (string, error) {
	if !strings.Contains(filepath.ToSlash(exe), "/go-build") {
		return exe, nil
	}
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", fmt.Errorf("copy the go run binary: %w", err)
	}
	dst := filepath.Join(bin, "orchard")
	if err := copyExecutable(exe, dst); err != nil {
		return "", fmt.Errorf("copy the go run binary to %s: %w", dst, err)
	}
	return dst, nil
}

// copyExecutable copies src to dst through a temporary file and a rename,
// so a role still running from an older copy keeps its file.
func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	_, err = writeFileAtomic(dst, 0o755, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
	return err
}

// stop asks the child to finish (SIGTERM) and kills it after grace.
func (c *child) stop(grace time.Duration) {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// waitHTTP polls url until it answers with a status below 500, the child
// exits, or ctx ends.
func (c *child) waitHTTP(ctx context.Context, url string, host string) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if host != "" {
			req.Host = host
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
		}
		select {
		case <-c.done:
			return fmt.Errorf("%s exited: %v (see its log)", c.name, c.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New(c.name + " did not answer within 15s (see its log)")
		}
	}
}
