package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orchardhq/orchard/internal/testnet"
)

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// TestMain removes the binary orchardBin built once every test has run.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// orchardBin builds cmd/orchard once into a temporary directory.
func orchardBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "orchard-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binDir, binPath = dir, filepath.Join(dir, "orchard")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/orchardhq/orchard/cmd/orchard").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// cluster is a cluster file in a temporary directory.
type cluster struct {
	dir    string
	file   string
	master string // master control address
	nodes  []nodeAddrs
	secret []byte
}

type nodeAddrs struct{ name, listen, control, data string }

func newCluster(t *testing.T, nodes int) *cluster {
	t.Helper()
	c := &cluster{dir: t.TempDir(), master: testnet.FreeAddr(t)}
	var b strings.Builder
	fmt.Fprintf(&b, "secret_file = \"secret.key\"\n[master]\ncontrol = %q\ndata = \"master\"\nkeep_releases = 3\n", c.master)
	for i := range nodes {
		n := nodeAddrs{name: fmt.Sprintf("node%d", i), listen: testnet.FreeAddr(t), control: testnet.FreeAddr(t)}
		n.data = filepath.Join(c.dir, n.name)
		c.nodes = append(c.nodes, n)
		fmt.Fprintf(&b, "[[node]]\nname = %q\nlisten = %q\ncontrol = %q\ndata = %q\ncatch_up = \"300ms\"\n", n.name, n.listen, n.control, n.name)
	}
	c.file = filepath.Join(c.dir, "orchard.toml")
	if err := os.WriteFile(c.file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// The secret is created by the first command that loads the file; the
	// in-process parts read it the same way.
	run(t, "config", "check", "--config", c.file)
	s, err := os.ReadFile(filepath.Join(c.dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	c.secret = bytes.TrimSpace(s)
	return c
}

// run runs orchard with args and returns its output and exit code.
func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, orchardBin(t), args...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	} else if err != nil {
		t.Fatalf("orchard %v: %v", args, err)
	}
	return string(out), 0
}
