package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// testCluster writes a minimal cluster file in a temp dir and returns its path.
func testCluster(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "orchard.toml")
	body := "[database]\ndriver = \"sqlite\"\npath = \"db/orchard.db\"\n[master]\ndata = \"master\"\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// cliResult is what one in-process run of the orchard command gave.
type cliResult struct {
	out    string // stdout
	stderr string // what the command wrote to stderr
	err    string // the returned error, as main prints it
	code   int    // the exit status main would use
}

// runCLI runs `orchard --config cfg args...` in-process with stdin.
func runCLI(t *testing.T, cfg, stdin string, args ...string) cliResult {
	t.Helper()
	out, stderr, err := execute(t.Context(), newRootCmd(), stdin, append([]string{"--config", cfg}, args...)...)
	r := cliResult{out: out, stderr: stderr, code: exitCode(err)}
	if err != nil {
		r.err = err.Error()
	}
	return r
}

// execute runs cmd (the root command or a subcommand's) in-process with
// args and stdin, and returns what it wrote to stdout and to stderr.
func execute(ctx context.Context, cmd *cobra.Command, stdin string, args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	err = cmd.ExecuteContext(ctx)
	return out.String(), errb.String(), err
}

// mustCLI runs the command and fails the test unless it exits 0.
func mustCLI(t *testing.T, cfg, stdin string, args ...string) string {
	t.Helper()
	r := runCLI(t, cfg, stdin, args...)
	if r.code != 0 {
		t.Fatalf("orchard %s: exit %d: %s\n%s", strings.Join(args, " "), r.code, r.err, r.out)
	}
	return r.out
}

// wantExit fails unless the command exits with code and its error holds msg.
func wantExit(t *testing.T, r cliResult, code int, msg string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.err, msg) {
		t.Errorf("exit %d %q, want exit %d with %q", r.code, r.err, code, msg)
	}
	if strings.Contains(r.err, "code=") {
		t.Errorf("error shows an internal code to the user: %q", r.err)
	}
}

// exitCase is a command line that must fail: the exit code and a part of
// the error it must end with.
type exitCase struct {
	name string
	args []string // after the prefix given to wantExits
	code int
	msg  string
}

// wantExits runs each case as a subtest, `orchard --config cfg prefix...
// args...` with stdin, and wants its exit (wantExit). unchanged, if not
// nil, runs after each case to check that the refused command changed
// nothing.
func wantExits(t *testing.T, cfg, stdin string, prefix []string, cases []exitCase, unchanged func(t *testing.T)) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantExit(t, runCLI(t, cfg, stdin, append(slices.Clip(prefix), tc.args...)...), tc.code, tc.msg)
			if unchanged != nil {
				unchanged(t)
			}
		})
	}
}

// wantOutput fails t for each of wants that out, what a command printed
// (named what), does not contain.
func wantOutput(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, out)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[database]\ndriver = \"oracle\"\nbogus = 1\n"), 0o600)
	for _, tc := range []struct {
		name, cfg, msg string
	}{
		{"Missing", filepath.Join(dir, "none.toml"), "--config"},
		{"Invalid", bad, "bad.toml:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantExit(t, runCLI(t, tc.cfg, "", "site", "list"), 2, tc.msg)
		})
	}
}

func TestStoreDirectory(t *testing.T) {
	cfg := testCluster(t)
	mustCLI(t, cfg, "", "site", "list")
	dir := filepath.Join(filepath.Dir(cfg), "db")
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("database directory has mode %v, want 0700", fi.Mode().Perm())
	}
	fi, err = os.Stat(filepath.Join(dir, "orchard.db"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("database file has mode %v, want 0600", fi.Mode().Perm())
	}
}
