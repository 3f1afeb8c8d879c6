package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// initBudgetBytes is what the package initialisers of one of orchard's
// packages may allocate. Every CLI command pays for every package's init
// (issue 23: one edit through the CLI is three process starts), so
// templates, regexps and tables are built on first use instead.
const initBudgetBytes = 16 << 10

// TestInitAllocs runs this test binary (it links what orchard links) with
// GODEBUG=inittrace=1 and checks that no package of orchard allocates more
// than initBudgetBytes in its initialisers. Bytes allocated are the same
// from run to run, unlike init times.
func TestInitAllocs(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd, err, stderr.Bytes())
	}
	seen := 0
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		pkg, bytes, ok := parseInitTrace(sc.Text())
		if !ok || !(pkg == "main" || pkg == "github.com/orchardhq/orchard" || strings.HasPrefix(pkg, "github.com/orchardhq/orchard/")) {
			continue
		}
		seen++
		if bytes > initBudgetBytes {
			t.Errorf("init of %s allocates %d bytes, want at most %d: build its templates, regexps and tables on first use (sync.OnceValue)", pkg, bytes, initBudgetBytes)
		}
	}
	if seen < 10 {
		t.Fatalf("found the inits of %d orchard packages in the trace, want many:\n%s", seen, stderr.Bytes())
	}
}

// parseInitTrace reads one line of GODEBUG=inittrace=1:
// "init PKG @0.5 ms, 0.1 ms clock, 1234 bytes, 5 allocs".
func parseInitTrace(line string) (pkg string, bytes int, ok bool) {
	f := strings.Fields(line)
	if len(f) < 10 || f[0] != "init" || f[8] != "bytes," {
		return "", 0, false
	}
	n, err := strconv.Atoi(f[7])
	if err != nil {
		return "", 0, false
	}
	return f[1], n, true
}
