package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orchardhq/orchard/internal/testnet"
)

// managerStatus GETs the manager's JSON from the client address from.
func managerStatus(t *testing.T, addr, from string) int {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/orchard-manager/json")
	if err != nil {
		t.Fatalf("manager from %s: %v", from, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestBalancerReload runs `orchard balancer` in-process, narrows
// manager_allow and moves listen in its cluster file, and runs `orchard
// balancer reload`: the access list applies (a client at 127.0.0.2 gets 403)
// and the new listen address is named as needing a restart.
func TestBalancerReload(t *testing.T) {
	dir := t.TempDir()
	addr, nodeAddr, nodeCtl := testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t)
	clusterFile := func(listen, allow string, extra ...string) string {
		return fmt.Sprintf(`[[node]]
name = "node0"
listen = %q
control = %q

[balancer]
listen = %q
data = %q
manager_allow = [%q]
%s
[[balancer.pool]]
name = "web"
members = ["node0"]

[[balancer.vhost]]
hosts = ["*"]
pool = "web"
`, nodeAddr, nodeCtl, listen, filepath.Join(dir, "balancer"), allow, strings.Join(extra, "\n"))
	}
	cfg := filepath.Join(dir, "orchard.toml")
	if err := os.WriteFile(cfg, []byte(clusterFile(addr, "127.0.0.0/8")), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	root := newRootCmd()
	root.SetArgs([]string{"--config", cfg, "balancer"})
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	go func() { done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("balancer: %v", err)
		}
	})
	pidFile := filepath.Join(dir, "balancer", balancerPIDFile)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(pidFile); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the balancer wrote no pid file")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := managerStatus(t, addr, "127.0.0.2"); got != http.StatusOK {
		t.Fatalf("manager from 127.0.0.2 before the reload: %d, want 200", got)
	}

	if err := os.WriteFile(cfg, []byte(clusterFile(testnet.FreeAddr(t), "127.0.0.1/32", "event_loops = false")), 0o600); err != nil {
		t.Fatal(err)
	}
	out := mustCLI(t, cfg, "", "balancer", "reload")
	if !strings.Contains(out, "reloaded: applied balancer.manager_allow\n") {
		t.Errorf("reload reply does not say manager_allow applied:\n%s", out)
	}
	if !strings.Contains(out, "needs a restart (running value kept): balancer.listen") {
		t.Errorf("reload reply does not name balancer.listen as needing a restart:\n%s", out)
	}
	if !strings.Contains(out, "balancer.event_loops") {
		t.Errorf("reload reply does not name balancer.event_loops as needing a restart:\n%s", out)
	}
	if got := managerStatus(t, addr, "127.0.0.2"); got != http.StatusForbidden {
		t.Errorf("manager from 127.0.0.2 after narrowing manager_allow: %d, want 403", got)
	}
	if got := managerStatus(t, addr, "127.0.0.1"); got != http.StatusOK {
		t.Errorf("manager from 127.0.0.1 after narrowing manager_allow: %d, want 200", got)
	}

	// A file with mistakes is refused before the balancer is signalled.
	if err := os.WriteFile(cfg, []byte(clusterFile(addr, "127.0.0.1/32")+"[balancer.nope]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, cfg, "", "balancer", "reload"); r.code == 0 || !strings.Contains(r.err, "nothing was reloaded") {
		t.Errorf("reload of a bad file: exit %d, %q; want a refusal", r.code, r.err)
	}
	if got := managerStatus(t, addr, "127.0.0.2"); got != http.StatusForbidden {
		t.Errorf("manager from 127.0.0.2 after a refused reload: %d, want 403", got)
	}
}

// TestLooksLikeBalancer: a pid file left by a killed balancer must not get
// another program a SIGHUP when its pid is reused.
func TestLooksLikeBalancer(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc")
	}
	start := func(args ...string) *exec.Cmd {
		t.Helper()
		// Two commands, so that sh stays (it may exec a lone last command).
		cmd := exec.Command("sh", append([]string{"-c", "sleep 30; :"}, args...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		// Until sh has run, /proc shows the forked test binary or nothing.
		deadline := time.Now().Add(30 * time.Second)
		for {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid))
			if strings.Contains(string(b), "sleep 30") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("sh did not start: %q", b)
			}
			time.Sleep(time.Millisecond)
		}
		return cmd
	}
	if !looksLikeBalancer(start("orchard").Process.Pid) {
		t.Error("an orchard process not recognised")
	}
	other := start()
	if looksLikeBalancer(other.Process.Pid) {
		t.Error("another program taken for the balancer")
	}
	other.Process.Kill()
	other.Wait()
	if looksLikeBalancer(other.Process.Pid) {
		t.Error("a pid that is gone taken for the balancer")
	}
}
