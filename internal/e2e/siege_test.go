package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/orchardhq/orchard/internal/sample"
)

// TestSiegeTimedThroughBalancer runs the seed's own load tool the seed's way,
// a timed run (siege -b -c50 -t), through the demo's balancer. siege's timed
// runs can hang at the end (JoeDog/siege#66), which was seen through the
// balancer and never against nginx; each run here must end by itself, long
// before the KILL that bounds it, with every transaction successful.
func TestSiegeTimedThroughBalancer(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-cluster test")
	}
	siege, err := exec.LookPath("siege")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("siege is required in CI: %v", err)
		}
		t.Skip("no siege")
	}
	_, cfg := startSQLiteDemo(t)
	dir := t.TempDir()
	transactions := regexp.MustCompile(`Transactions:\s+(\d+) hits`)
	failed := regexp.MustCompile(`Failed transactions:\s+(\d+)`)
	for _, conn := range []string{"close", "keep-alive"} {
		// siege refuses over 255 users and fetches page assets without
		// the first lines; its connection mode is a setting, not a header.
		rc := filepath.Join(dir, "siegerc-"+conn)
		if err := os.WriteFile(rc, []byte("limit = 2000\nparser = false\nshow-logfile = false\nlogging = false\nconnection = "+conn+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for run := range 3 {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			cmd := exec.CommandContext(ctx, siege, "-R", rc, "-b", "-c50", "-t2S",
				"-H", "Host: "+sample.AlphaHost, "http://"+cfg.Balancer.Listen+"/")
			cmd.Cancel = func() error { return cmd.Process.Kill() }
			start := time.Now()
			out, err := cmd.CombinedOutput()
			hung := ctx.Err() != nil
			cancel()
			if hung {
				t.Fatalf("siege -t2S (%s, run %d) did not end within 60 s: it hung\n%s", conn, run, out)
			}
			if err != nil {
				t.Fatalf("siege (%s, run %d): %v\n%s", conn, run, err, out)
			}
			tm, fm := transactions.FindSubmatch(out), failed.FindSubmatch(out)
			if tm == nil || fm == nil {
				t.Fatalf("siege printed no summary:\n%s", out)
			}
			n, _ := strconv.Atoi(string(tm[1]))
			f, _ := strconv.Atoi(string(fm[1]))
			if n == 0 || f != 0 {
				t.Errorf("siege (%s, run %d): %d transactions, %d failed\n%s", conn, run, n, f, out)
			}
			t.Logf("siege -t2S, Connection: %s: %d transactions, ended after %v", conn, n, time.Since(start).Round(time.Millisecond))
		}
	}
}
