package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/orchardhq/orchard/internal/proctest"
	"github.com/orchardhq/orchard/internal/testnet"
)

// emulator runs one target's binary under qemu-user on this machine.
type emulator struct {
	qemu string
	a    artifact
}

func newEmulator(t *testing.T, a artifact) *emulator {
	t.Helper()
	return &emulator{qemu: need(t, a.target.qemu), a: a}
}

// prefix is the command line before the orchard arguments: the
// emulator, held to the target's oldest CPU, and the binary.
func (e *emulator) prefix() []string {
	p := []string{e.qemu}
	if e.a.target.qemuCPU != "" {
		p = append(p, "-cpu", e.a.target.qemuCPU)
	}
	return p
}

func (e *emulator) command(args ...string) *exec.Cmd {
	p := e.prefix()
	return exec.Command(p[0], append(append(p[1:], e.a.binary), args...)...)
}

// run runs orchard ARGS under emulation with stdin and returns its output.
func (e *emulator) run(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := e.command(args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s orchard %s: %v\n%s", e.a.target.name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// report collects the numbers the emulated tests measure and leaves them
// in $ORCHARD_TEST_OUT/packages.txt (scripts/test prints it) and the test
// log.
type report struct {
	mu    sync.Mutex
	lines []string
}

func (r *report) add(t *testing.T, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, line)
	if dir := os.Getenv("ORCHARD_TEST_OUT"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "packages.txt"), []byte(strings.Join(r.lines, "\n")+"\n"), 0o644)
	}
}

var numbers report

// TestEmulatedCluster runs the ARM binaries under qemu-user: each prints
// its stamped version; the arm64 and ARMv7 ones also create a site in
// SQLite, add a page, start a node, build and publish to it, and the node
// serves the page.
func TestEmulatedCluster(t *testing.T) {
	_, arts := mustPackages(t)
	for _, a := range arts {
		if st, err := os.Stat(a.binary); err == nil {
			numbers.add(t, "binary size %-12s %5.1f MiB (%d bytes); package %5.1f MiB", a.target.name, float64(st.Size())/(1<<20), st.Size(), mib(a.deb))
		}
	}
	for _, name := range []string{"arm64", "armhf"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEmulator(t, artifactFor(t, arts, name))
			start := time.Now()
			if got, want := strings.TrimSpace(e.run(t, "", "version")), "orchard "+e.a.describe; got != want {
				t.Fatalf("version under %s: %q, want %q", e.qemu, got, want)
			}
			dir := t.TempDir()
			listen, control := testnet.FreeAddr(t), testnet.FreeAddr(t)
			cfg := filepath.Join(dir, "orchard.toml")
			if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`secret_file = "secret.key"
[database]
driver = "sqlite"
path = "orchard.db"
[master]
listen = %q
admin = %q
control = %q
data = "master"
[[node]]
name = "node0"
listen = %q
control = %q
data = "node0"
`, testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t), listen, control)), 0o644); err != nil {
				t.Fatal(err)
			}
			e.run(t, "", "site", "--config", cfg, "-s", "example.test", "-c", "-i", "-p")
			e.run(t, "Hello from "+name+".\n", "page", "--config", cfg, "-s", "example.test", "put", "/hello/", "--title", "Hello")

			node := e.command("node", "node0", "--config", cfg)
			var nodeLog bytes.Buffer
			node.Stdout, node.Stderr = &nodeLog, &nodeLog
			if err := node.Start(); err != nil {
				t.Fatal(err)
			}
			nodeDone := make(chan struct{})
			go func() { _ = node.Wait(); close(nodeDone) }()
			t.Cleanup(func() { proctest.Stop(node.Process, nodeDone, 30*time.Second) })
			testnet.WaitWithin(t, 90*time.Second, name+" node answers its health check", func() bool {
				code, _ := get("http://"+control+"/_orchard/health", "")
				return code == 200
			})
			e.run(t, "", "publish", "--config", cfg, "-s", "example.test", "--build", "-q")
			code, body := get("http://"+listen+"/hello/", "example.test")
			if code != 200 || !strings.Contains(body, "Hello from "+name+".") {
				t.Fatalf("the %s node serves /hello/: %d\n%s\nnode log:\n%s", name, code, body, nodeLog.String())
			}
			rss, err := rssKiB(node.Process.Pid)
			if err != nil {
				t.Fatal(err)
			}
			numbers.add(t, "%s: version, site, page, node, build, publish and the page served under %s in %s; node RSS %d KiB (qemu included)",
				name, strings.Join(e.prefix(), " "), time.Since(start).Round(time.Millisecond), rss)
		})
	}
}

// TestDemoEmulated runs `orchard demo` of the ARMv7 package under qemu-arm,
// its roles through ORCHARD_EXEC_PREFIX, until both sample sites serve
// through the balancer; it measures how long that took and the nodes'
// RSS, then stops the demo with Ctrl-C (SIGINT), which must end every role.
func TestDemoEmulated(t *testing.T) {
	_, arts := mustPackages(t)
	e := newEmulator(t, artifactFor(t, arts, "armhf"))
	var d *emulatedDemo
	for attempt := 1; ; attempt++ {
		var clash, hung bool
		if d, clash, hung = startEmulatedDemo(t, e); !clash && !hung {
			break
		}
		// The demo's roles bind ports derived from --listen a moment
		// after it starts; another test's connection (CI runs packages
		// side by side) can take one in between. As the e2e tests do,
		// such a start is made again, once; so is one that hung under
		// qemu-arm (startEmulatedDemo).
		what := "a role's port was taken before it bound it (another test's connection)"
		if hung {
			what = "it did not serve within 5 minutes under qemu-arm"
		}
		if attempt == 2 {
			t.Fatalf("orchard demo, twice: %s", what)
		}
		t.Logf("orchard demo: %s; starting again", what)
	}
	demo, out, dir, done, start := d.cmd, d.out, d.dir, d.done, d.start

	ready := time.Since(start)
	roles := rolePIDs(dir)
	if len(roles) < 5 { // master, balancer, 3 nodes
		t.Errorf("%d roles run under qemu, want master, balancer and 3 nodes:\n%s", len(roles), out.String())
	}
	var rss []string
	for _, pid := range roles {
		kib, err := rssKiB(pid)
		if err != nil {
			continue
		}
		rss = append(rss, fmt.Sprintf("%s %d KiB", roleOf(pid), kib))
	}
	numbers.add(t, "demo under %s: both sites served through the balancer %s after start; RSS after publish (qemu included): %s",
		strings.Join(e.prefix(), " "), ready.Round(time.Millisecond), strings.Join(rss, ", "))

	stopStart := time.Now()
	if err := demo.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the demo exited with %v after Ctrl-C\n%s", err, out.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("the demo did not stop within 2 minutes of Ctrl-C\n%s", out.String())
	}
	d.stopped = true
	if left := rolePIDs(dir); len(left) > 0 {
		t.Errorf("roles %v still run after the demo stopped", left)
	}
	numbers.add(t, "demo under qemu-arm stopped by Ctrl-C in %s", time.Since(stopStart).Round(time.Millisecond))
}

// emulatedDemo is one start of `orchard demo` under qemu.
type emulatedDemo struct {
	cmd     *exec.Cmd
	out     *proctest.Buffer
	dir     string
	done    chan error
	start   time.Time
	stopped bool // the test stopped it (or gave it up): the cleanup leaves it be
}

// startEmulatedDemo starts the demo and waits until both sample sites
// serve through its balancer; clash reports a demo that exited because a
// role's address was in use, hung one that did not serve within 5
// minutes (its roles are then stopped).
func startEmulatedDemo(t *testing.T, e *emulator) (d *emulatedDemo, clash, hung bool) {
	t.Helper()
	d = &emulatedDemo{out: &proctest.Buffer{}, dir: t.TempDir(), done: make(chan error, 1)}
	listen := testnet.FreeAddr(t)
	demo := e.command("demo", "--dir", d.dir, "--listen", listen)
	demo.Env = append(os.Environ(), "ORCHARD_EXEC_PREFIX="+strings.Join(e.prefix(), " "))
	demo.Stdout, demo.Stderr = d.out, d.out
	demo.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	d.cmd = demo
	d.start = time.Now()
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- demo.Wait() }()
	kill := func() {
		// The roles first: they hold the demo's output pipe, which
		// Wait reads to its end.
		_ = syscall.Kill(-demo.Process.Pid, syscall.SIGKILL)
		for _, pid := range rolePIDs(d.dir) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		<-d.done
	}
	var lastAnswers []string
	t.Cleanup(func() {
		if d.stopped {
			return
		}
		if t.Failed() { // what the demo and its roles said, to tell a hang from a slow start
			t.Logf("last answers through the balancer: %v\ndemo output:\n%s", lastAnswers, d.out.String())
			logTails(t, filepath.Join(d.dir, "logs"))
		}
		kill() // a failed test: leave nothing running
	})

	sites := []string{"alpha.localhost", "blog.localhost"}
	deadline := time.Now().Add(5 * time.Minute)
	ready := func() bool {
		select {
		case err := <-d.done:
			d.done <- err
			if roleAddrInUse(filepath.Join(d.dir, "logs")) {
				clash = true
				return true
			}
			t.Fatalf("the demo exited: %v\n%s", err, d.out.String())
		default:
		}
		lastAnswers = lastAnswers[:0]
		ok := true
		for _, h := range sites {
			code, body := get("http://"+listen+"/", h)
			answer := fmt.Sprintf("%s %d", h, code)
			if code == 0 { // no answer: body holds the client's error
				answer += " (" + body + ")"
			}
			lastAnswers = append(lastAnswers, answer)
			ok = ok && code == 200
		}
		if !ok {
			return false
		}
		// The balancer serves a moment before the demo says so.
		return strings.Contains(d.out.String(), "Ready in")
	}
	for !ready() {
		if time.Now().After(deadline) {
			// Seen twice under load: the demo's process stopped with
			// both of qemu-arm's threads waiting on a futex, before it
			// started its next role. Told apart from a slow start by
			// the output and logs below; started again, once.
			t.Logf("the demo's sites did not serve through the balancer under qemu-arm within 5 minutes; last answers: %v", lastAnswers)
			hung = true
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if clash || hung {
		t.Logf("demo output:\n%s", d.out.String())
		logTails(t, filepath.Join(d.dir, "logs"))
		kill()
		d.stopped = true
	}
	return d, clash, hung
}

// roleAddrInUse reports a role log that says its address was in use.
func roleAddrInUse(logDir string) bool {
	files, _ := filepath.Glob(filepath.Join(logDir, "*.log"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), "address already in use") {
			return true
		}
	}
	return false
}

// rolePIDs lists the processes whose command line names the demo's
// cluster file in dir: its roles, each a qemu-arm process.
func rolePIDs(dir string) []int {
	var pids []int
	for _, p := range proctest.List() {
		if slices.Contains(p.Args, filepath.Join(dir, "orchard.toml")) {
			pids = append(pids, p.PID)
		}
	}
	return pids
}

// logTails logs the last lines of every log the demo's roles wrote.
func logTails(t *testing.T, logDir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(logDir, "*.log"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		lines = lines[max(0, len(lines)-30):]
		t.Logf("%s (last %d lines):\n%s", filepath.Base(f), len(lines), strings.Join(lines, "\n"))
	}
}

// roleOf names the role a process runs ("node node0", "balancer").
func roleOf(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	args := strings.Split(string(b), "\x00")
	for i, a := range args {
		switch a {
		case "master", "balancer":
			return a
		case "node":
			if i+1 < len(args) {
				return "node " + args[i+1]
			}
		}
	}
	return strconv.Itoa(pid)
}
