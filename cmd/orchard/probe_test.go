package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runProbeCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	return execute(context.Background(), newProbeCmd(), "", args...)
}

func TestProbeCmd(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			http.Error(w, "no", http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()

	t.Run("OK", func(t *testing.T) {
		report := filepath.Join(dir, "ok.html")
		// --for leaves time for the first check on a busy machine.
		out, _, err := runProbeCmd(t, srv.URL+"/", "--every", "10s", "--for", "2s",
			"--db", filepath.Join(dir, "ok.db"), "--report", report)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !strings.Contains(out, srv.URL+"/ 200 dns=") {
			t.Errorf("output lacks the result line:\n%s", out)
		}
		page, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(page), "100.00%") || !strings.Contains(string(page), "<svg") {
			t.Errorf("report lacks uptime or graph:\n%s", page)
		}
	})
	t.Run("FailExitsNonZeroAndRunsHook", func(t *testing.T) {
		urls := filepath.Join(dir, "urls.txt")
		os.WriteFile(urls, []byte("GET "+srv.URL+"/broken\n"+srv.URL+"/\n"), 0o600)
		hookOut := filepath.Join(dir, "hook.txt")
		out, _, err := runProbeCmd(t, "--file", urls, "--every", "10s", "--for", "1s", "--fail-after", "1",
			"--db", filepath.Join(dir, "fail.db"),
			"--on-fail", `printf '%s %s %s\n' "$ORCHARD_PROBE_URL" "$ORCHARD_PROBE_STATE" "$ORCHARD_PROBE_STATUS" >> `+hookOut)
		if err == nil || exitCode(err) != 1 {
			t.Fatalf("err %v (exit %d), want exit 1\n%s", err, exitCode(err), out)
		}
		got, _ := os.ReadFile(hookOut)
		if want := srv.URL + "/broken down 502\n"; string(got) != want {
			t.Errorf("hook wrote %q, want %q", got, want)
		}
	})
	t.Run("Usage", func(t *testing.T) {
		for _, args := range [][]string{
			{},
			{"ftp://x/"},
			{srv.URL, "--every", "1s"},
			{srv.URL, "--timeout", "0s"},
			{srv.URL, "--method", "G T"},
			{srv.URL, "--host", "bad host"},
			{"--file", filepath.Join(dir, "missing.txt")},
		} {
			_, _, err := runProbeCmd(t, args...)
			if exitCode(err) != 2 {
				t.Errorf("%v: err %v, want a usage error", args, err)
			}
		}
	})
}
