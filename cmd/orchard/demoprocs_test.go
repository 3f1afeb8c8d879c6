package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoRestartHint builds the hint the demo prints when a node exits,
// for a binary that `go run` left in a go-build directory, removes that
// directory as go run does when it exits, and runs the hint with sh: it
// must start the same binary with the same arguments, with no `orchard`
// on PATH.
func TestDemoRestartHint(t *testing.T) {
	tmp := t.TempDir()
	goRun := filepath.Join(tmp, "go-build123", "b001", "exe")
	if err := os.MkdirAll(goRun, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(goRun, "orchard")
	// A stand-in for the orchard binary: it prints its arguments.
	if err := os.WriteFile(exe, []byte("#!/bin/sh\necho \"ran $*\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	demoDir := filepath.Join(tmp, "my demo") // a space, to need quoting
	bin, err := demoBinary(exe, demoDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(tmp, "go-build123")); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(demoDir, "orchard.toml")
	c := &child{name: "node0", cmd: exec.Command(bin, "node", "node0", "--config", cfg)}
	hint := c.restartHint()

	sh := exec.Command("/bin/sh", "-c", hint)
	sh.Env = []string{"PATH=/usr/bin:/bin"} // no orchard on it
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("restart hint %q: %v\n%s", hint, err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "ran node node0 --config "+cfg; got != want {
		t.Errorf("restart hint %q ran %q, want %q", hint, got, want)
	}
}

// TestDemoBinaryInstalled keeps an installed binary where it is: only a go
// run binary is copied.
func TestDemoBinaryInstalled(t *testing.T) {
	exe := "/usr/local/bin/orchard"
	got, err := demoBinary(exe, t.TempDir())
	if err != nil || got != exe {
		t.Errorf("demoBinary(%q) = %q, %v; want it unchanged", exe, got, err)
	}
}

// TestRoleCommand: with an exec prefix the demo runs a role as
// `PREFIX... EXE ARGS...` (how it starts ARM roles under qemu-user), and
// the restart hint it prints says the same.
func TestRoleCommand(t *testing.T) {
	for _, tc := range []struct {
		name, prefix string
		want         []string
	}{
		{"NoPrefix", "", []string{"/opt/orchard", "node", "node0"}},
		{"Blank", "  ", []string{"/opt/orchard", "node", "node0"}},
		{"Emulator", "qemu-arm", []string{"qemu-arm", "/opt/orchard", "node", "node0"}},
		{"EmulatorFlags", "qemu-arm -cpu  cortex-a7", []string{"qemu-arm", "-cpu", "cortex-a7", "/opt/orchard", "node", "node0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := roleCommand(tc.prefix, "/opt/orchard", "node", "node0")
			if got := cmd.Args; strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("roleCommand(%q) runs %q, want %q", tc.prefix, got, tc.want)
			}
			c := &child{cmd: cmd}
			if got, want := c.restartHint(), strings.Join(tc.want, " "); !strings.HasSuffix(got, strings.TrimPrefix(want, tc.want[0])) {
				t.Errorf("restart hint %q, want it to end like %q", got, want)
			}
		})
	}
}

// TestStartChildExecPrefix starts a child through $ORCHARD_EXEC_PREFIX: a
// stand-in interpreter that logs what it was asked to run.
func TestStartChildExecPrefix(t *testing.T) {
	dir := t.TempDir()
	interp := filepath.Join(dir, "interp")
	if err := os.WriteFile(interp, []byte("#!/bin/sh\necho \"interp $*\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(execPrefixEnv, interp+" -x")
	c, err := startChild("/opt/orchard", "node0", dir, "node", "node0")
	if err != nil {
		t.Fatal(err)
	}
	<-c.done
	if c.err != nil {
		t.Fatalf("child: %v", c.err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "node0.log"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(b)), "interp -x /opt/orchard node node0"; got != want {
		t.Errorf("the child ran %q, want %q", got, want)
	}
}
