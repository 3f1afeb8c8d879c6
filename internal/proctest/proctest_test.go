package proctest_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/orchardhq/orchard/internal/proctest"
)

func TestBuffer(t *testing.T) {
	var b proctest.Buffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fmt.Fprintf(&b, "%d", i)
		}()
	}
	wg.Wait()
	if got := len(b.String()); got != 8 {
		t.Errorf("8 concurrent one-byte writes left %d bytes: %q", got, b.String())
	}
}

func TestListFindsItself(t *testing.T) {
	for _, p := range proctest.List() {
		if p.PID == os.Getpid() {
			if !slices.Equal(p.Args, os.Args) {
				t.Errorf("List gives this process the args %q, want %q", p.Args, os.Args)
			}
			return
		}
	}
	t.Errorf("List does not list this process (pid %d)", os.Getpid())
}

// TestStop checks that Stop ends a child that stops on SIGTERM with that
// signal, and kills one that ignores it once the grace period is over.
func TestStop(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		grace  time.Duration
		want   syscall.Signal
	}{
		{"Term", "echo ready; exec sleep 60", time.Minute, syscall.SIGTERM},
		{"Kill", `trap "" TERM; echo ready; exec sleep 60`, 100 * time.Millisecond, syscall.SIGKILL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("sh", "-c", tc.script)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// The trap is set once the child says ready.
			if line, err := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
				t.Fatalf("child said %q (%v), want ready", line, err)
			}
			exited := make(chan struct{})
			go func() { _ = cmd.Wait(); close(exited) }()
			proctest.Stop(cmd.Process, exited, tc.grace)
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ok || !ws.Signaled() || ws.Signal() != tc.want {
				t.Errorf("child ended with %v, want the signal %v", cmd.ProcessState, tc.want)
			}
		})
	}
}
