package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/release"
)

const tierFile = `[balancer]
listen = "0.0.0.0:8000"
[balancer.vrrp]
address = "10.0.0.100/24"
interface = "eth0"
router_id = 51
check_timeout = "1500ms"
[[balancer.peer]]
name = "lb1"
control = "10.0.0.1:8100"
priority = 150
[[balancer.peer]]
name = "lb2"
control = "10.0.0.2:8100"
priority = 100
interface = "eth1"
`

func loadTier(t *testing.T) *config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "orchard.toml")
	if err := os.WriteFile(path, []byte(tierFile), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestKeepalivedConfig checks what keepalived needs from the cluster file
// is in each balancer's keepalived.conf, that both peers share the same
// password without it being in the file, and (when keepalived is
// installed) that keepalived itself accepts the file.
func TestKeepalivedConfig(t *testing.T) {
	cfg := loadTier(t)
	confs := map[string]string{}
	for _, name := range []string{"lb1", "lb2"} {
		var b strings.Builder
		if err := writeKeepalivedConf(&b, cfg, name, "/usr/bin/orchard"); err != nil {
			t.Fatal(err)
		}
		confs[name] = b.String()
	}
	pass := keepalivedAuthPass(cfg.Secret, 51)
	for name, want := range map[string][]string{
		"lb1": {"interface eth0\n", "virtual_router_id 51\n", "priority 150\n", "advert_int 1\n", "10.0.0.100/24 dev eth0\n",
			`script "/usr/bin/orchard balancer check --timeout 1.5s 10.0.0.1:8100"`, "timeout 2\n", "fall 1\n", "auth_pass " + pass + "\n", "track_script {\n        orchard_health",
			"track_file {\n        orchard_serving", "weight 0\n"},
		"lb2": {"/lb2/keepalived-track\"\n", "interface eth1\n", "priority 100\n", "10.0.0.100/24 dev eth1\n", "10.0.0.2:8100", "auth_pass " + pass + "\n"},
	} {
		for _, w := range want {
			if !strings.Contains(confs[name], w) {
				t.Errorf("%s's keepalived.conf lacks %q:\n%s", name, w, confs[name])
			}
		}
	}
	if len(pass) != 8 || strings.Contains(string(cfg.Secret), pass) {
		t.Errorf("auth_pass %q: want 8 characters derived from the secret", pass)
	}
	if other := keepalivedAuthPass([]byte("another secret of enough length......"), 51); other == pass {
		t.Error("auth_pass does not depend on the secret")
	}
	if err := writeKeepalivedConf(&strings.Builder{}, cfg, "lb3", "/usr/bin/orchard"); err == nil {
		t.Error("a config for an unknown balancer was written")
	}

	kp, err := exec.LookPath("keepalived")
	if err != nil {
		t.Log("keepalived is not installed: its own syntax check is left out")
		return
	}
	self, err := os.Executable() // keepalived -t also checks the check's program exists
	if err != nil {
		t.Fatal(err)
	}
	var conf strings.Builder
	if err := writeKeepalivedConf(&conf, cfg, "lb1", self); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(kp, "-t", "-f", path).CombinedOutput()
	if err != nil {
		t.Errorf("keepalived -t refused the file: %v\n%s", err, out)
	}
}

// TestPublisherRefreshesEveryBalancer checks a publish asks each balancer
// of a tier to refresh, not only the one [balancer] names.
func TestPublisherRefreshesEveryBalancer(t *testing.T) {
	store, err := release.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := newPublisher(loadTier(t), store, nil)
	var got []string
	for _, b := range p.Balancers {
		got = append(got, b.Name+"="+b.ControlAddr)
	}
	if want := "lb1=10.0.0.1:8100 lb2=10.0.0.2:8100"; strings.Join(got, " ") != want {
		t.Errorf("balancers refreshed = %v, want %s", got, want)
	}
}
