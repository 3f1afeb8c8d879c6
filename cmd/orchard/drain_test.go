package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/internal/testnet"
)

// startTierBalancer runs the balancer called name of the cluster file
// in-process, wired as `orchard balancer NAME` wires it.
func startTierBalancer(t *testing.T, path, name string) *balancer.Balancer {
	t.Helper()
	cfg, err := loadBalancerConfig(path, name)
	if err != nil {
		t.Fatal(err)
	}
	opts, closeLog, err := balancerOptions(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeLog)
	b := balancer.New(opts)
	if err := b.Listen(context.Background()); err != nil {
		b.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func adminState(b *balancer.Balancer, pool, member string) string {
	for _, s := range b.Members() {
		if s.Pool == pool && s.Member == member {
			return s.Admin
		}
	}
	return ""
}

// TestDrainTier runs two balancers of a tier in-process: `orchard drain
// node0` drains node0 in both of its pools on both balancers and prints a
// line per balancer; with lb2 down, `orchard undrain` applies on lb1,
// names lb2 as not reached and exits 1.
func TestDrainTier(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "orchard.toml")
	file := fmt.Sprintf(`secret_file = %q

[[node]]
name = "node0"
listen = %q
control = %q

[[node]]
name = "node1"
listen = %q
control = %q

[balancer]
data = %q

[balancer.vrrp]
address = "10.0.0.100/24"
interface = "eth0"
router_id = 51

[[balancer.peer]]
name = "lb1"
listen = %q
control = %q
priority = 150

[[balancer.peer]]
name = "lb2"
listen = %q
control = %q
priority = 100

[[balancer.pool]]
name = "web"
members = ["node0", "node1"]

[[balancer.pool]]
name = "api"
members = ["node0"]

[[balancer.vhost]]
hosts = ["*"]
pool = "web"
`, filepath.Join(dir, "secret"), testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t), filepath.Join(dir, "balancer"),
		testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t))
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	lb1, lb2 := startTierBalancer(t, path, "lb1"), startTierBalancer(t, path, "lb2")

	out := mustCLI(t, path, "", "drain", "node0")
	t.Logf("orchard drain node0:\n%s", out)
	wantOutput(t, "drain output", out, "lb1 (", "lb2 (", "drain node0 in pool web, api")
	for name, b := range map[string]*balancer.Balancer{"lb1": lb1, "lb2": lb2} {
		for _, pool := range []string{"web", "api"} {
			if got := adminState(b, pool, "node0"); got != orchard.MemberDraining {
				t.Errorf("node0 in %s on %s is %q after drain, want draining", pool, name, got)
			}
		}
		if got := adminState(b, "web", "node1"); got != orchard.MemberOK {
			t.Errorf("node1 on %s is %q, want ok (not drained)", name, got)
		}
	}

	// orchard status says which nodes take no traffic, though they serve
	// the master's releases (here no node runs: it exits 1 for them).
	st := runCLI(t, path, "", "status", "--timeout", "2s")
	wantOutput(t, "status after drain", st.out, "node0: draining on balancer lb1, pool web, since ",
		"node0: draining on balancer lb1, pool api", "node0: draining on balancer lb2, pool web")
	if strings.Contains(st.out, "node1: ") || strings.Contains(st.out, "not asked") {
		t.Errorf("status names node1, or a balancer it could not ask:\n%s", st.out)
	}

	lb2.Close()
	r := runCLI(t, path, "", "undrain", "node0")
	if r.code != 1 || !strings.Contains(r.err, "1 of 2 balancers not reached") {
		t.Errorf("undrain with lb2 down: exit %d %q, want exit 1 naming 1 of 2 not reached", r.code, r.err)
	}
	if !strings.Contains(r.out, "lb2 (") || !strings.Contains(r.out, "NOT applied") {
		t.Errorf("undrain output does not report lb2:\n%s", r.out)
	}
	if got := adminState(lb1, "web", "node0"); got != orchard.MemberOK {
		t.Errorf("node0 on lb1 is %q after undrain, want ok", got)
	}

	st = runCLI(t, path, "", "status", "--timeout", "2s")
	wantOutput(t, "status with lb2 down", st.out, "balancer lb2 (", "not asked for its members")
	if strings.Contains(st.out, "draining") {
		t.Errorf("status after undrain still names a drained node:\n%s", st.out)
	}

	wantExit(t, runCLI(t, path, "", "drain", "node9"), 2, `no pool of`)
}

// TestStatusSingleBalancer: with the one balancer of a file without
// peers, orchard status names it "the balancer", not by its internal
// name, and a node disabled there shows as disabled.
func TestStatusSingleBalancer(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "orchard.toml")
	file := fmt.Sprintf(`secret_file = %q

[[node]]
name = "node0"
listen = %q
control = %q

[balancer]
listen = %q
control = %q
data = %q
`, filepath.Join(dir, "secret"), testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t), filepath.Join(dir, "balancer"))
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	startTierBalancer(t, path, "")
	mustCLI(t, path, "", "disable", "node0")
	st := runCLI(t, path, "", "status", "--timeout", "2s")
	wantOutput(t, "status", st.out, "node0: disabled on the balancer, pool ")
	if strings.Contains(st.out, "balancer balancer") {
		t.Errorf("status names the balancer by its internal name:\n%s", st.out)
	}
}
