package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func runBenchCmd(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	out, _, err := execute(ctx, newBenchCmd(), "", args...)
	return out, err
}

func TestBenchCmd(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "alpha.localhost" {
			http.Error(w, "wrong host "+r.Host, http.StatusMisdirectedRequest)
			return
		}
		io.WriteString(w, "hello\n")
	}))
	defer srv.Close()

	t.Run("OK", func(t *testing.T) {
		out, err := runBenchCmd(t, context.Background(), "-c", "3", "-r", "4", "-b", "-H", "Host: alpha.localhost", srv.URL+"/")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"Transactions:\t\t          12 hits", "Availability:\t\t      100.00 %", "Status codes:\t\t200: 12"} {
			if !strings.Contains(out, s) {
				t.Errorf("output lacks %q:\n%s", s, out)
			}
		}
	})
	t.Run("FileAndJSON", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "urls.txt")
		os.WriteFile(f, []byte("# siege format\n"+srv.URL+"/a\n"+srv.URL+"/b\n"), 0o600)
		out, err := runBenchCmd(t, context.Background(), "-f", f, "-c", "2", "-r", "3", "--json", "--internet", "-H", "host: alpha.localhost", "-d", "0.001")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, `"transactions": 6`) || !strings.Contains(out, `"availability": 100`) {
			t.Errorf("JSON output:\n%s", out)
		}
	})
	t.Run("CtrlCPrintsSummary", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var n atomic.Int64
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 20 {
				cancel() // what Ctrl-C does to the command's context
			}
			io.WriteString(w, "x")
		}))
		defer slow.Close()
		out, err := runBenchCmd(t, ctx, "-c", "2", "-b", slow.URL+"/")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "interrupted") || !strings.Contains(out, "Transactions:") {
			t.Errorf("no summary after cancel:\n%s", out)
		}
	})
	t.Run("UsageErrors", func(t *testing.T) {
		for _, args := range [][]string{
			{},
			{"-t", "5X", srv.URL},
			{"-c", "0", srv.URL},
			{"-H", "NoColon", srv.URL},
			{"-H", "X: a\rb", srv.URL},
			{"--rate", "10", "-d", "1", srv.URL},
			{"-f", "/nonexistent/urls.txt"},
			{"ftp://x/"},
		} {
			_, err := runBenchCmd(t, context.Background(), args...)
			var u usageError
			if !errors.As(err, &u) {
				t.Errorf("args %q: err = %v, want a usage error (exit 2)", args, err)
			}
		}
	})
}
