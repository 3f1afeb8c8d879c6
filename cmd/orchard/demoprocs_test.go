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
