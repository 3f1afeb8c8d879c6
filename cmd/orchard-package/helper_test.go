package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// need returns the path of program, or skips the test when it is missing;
// under CI=true a missing program fails it (.ci/run installs them).
func need(tb testing.TB, program string) string {
	tb.Helper()
	p, err := exec.LookPath(program)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s is missing (CI installs it: see .ci/run)", program)
	}
	tb.Skipf("%s is missing: apt-get install %s", program, debianPackageOf(program))
	return ""
}

func debianPackageOf(program string) string {
	if strings.HasPrefix(program, "qemu-") {
		return "qemu-user"
	}
	return program
}

// built is the one packaging run the tests share: building four binaries
// takes minutes on a busy 2-core machine.
var built struct {
	once sync.Once
	dir  string
	opts options
	arts []artifact
	err  error
	took time.Duration
}

// repoRoot is the checkout these tests are in.
const repoRoot = "../.."

// mustPackages runs the packager for every target once per test binary
// and returns what it made.
func mustPackages(tb testing.TB) (options, []artifact) {
	tb.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "orchard-package-test-")
		if built.err != nil {
			return
		}
		built.opts = options{repo: repoRoot, outDir: filepath.Join(built.dir, "dist"),
			maintainer: "orchard tests <test@orchardhq.invalid>"}
		start := time.Now()
		var log strings.Builder
		built.arts, built.err = run(context.Background(), built.opts, &log)
		built.took = time.Since(start)
		fmt.Printf("packaging took %s:\n%s", built.took.Round(time.Second), log.String())
		if built.err == nil {
			built.err = keepPackages(built.arts, filepath.Join(built.opts.outDir, "SHA256SUMS"))
		}
	})
	if built.err != nil {
		tb.Fatalf("packaging: %v", built.err)
	}
	return built.opts, built.arts
}

// keepPackages copies the packages to $ORCHARD_TEST_OUT/packages, where a
// CI run leaves them for people to download.
func keepPackages(arts []artifact, sums string) error {
	out := os.Getenv("ORCHARD_TEST_OUT")
	if out == "" {
		return nil
	}
	dir := filepath.Join(out, "packages")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	paths := []string{sums}
	for _, a := range arts {
		paths = append(paths, a.deb)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// artifactFor returns the artifact of the named target.
func artifactFor(tb testing.TB, arts []artifact, name string) artifact {
	tb.Helper()
	for _, a := range arts {
		if a.target.name == name {
			return a
		}
	}
	tb.Fatalf("no %s package built", name)
	return artifact{}
}

// get returns the status and body of GET url with Host host ("" keeps the
// URL's), or 0 when nothing answers.
func get(url, host string) (int, string) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	if host != "" {
		req.Host = host
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

// rssKiB is VmRSS of process pid, from /proc.
func rssKiB(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kib int
			_, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kib)
			return kib, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
