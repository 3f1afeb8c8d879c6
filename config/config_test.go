package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orchardhq/orchard/config"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile("testdata/cluster.toml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "orchard.toml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := c.Database.Path, filepath.Join(dir, "data/orchard.db"); got != want {
		t.Errorf("database path = %q, want %q", got, want)
	}
	n, err := c.Node("node1")
	if err != nil {
		t.Fatal(err)
	}
	if n.KeepAlive.Duration != 15*time.Second || n.Data != filepath.Join(dir, "data/node1") {
		t.Errorf("node1 = %+v", n)
	}
	if n0, _ := c.Node("node0"); n0.KeepAlive.Duration != 30*time.Second {
		t.Errorf("default keepalive = %v, want 30s", n0.KeepAlive)
	}
	if _, err := c.Node("nope"); err == nil {
		t.Error("Node(nope) succeeded")
	}
	ms := c.Balancer.Pools[0].Members
	if len(ms) != 3 || ms[1].Weight != 2 || !ms[2].Standby || ms[0].Control != "127.0.0.1:8181" {
		t.Errorf("members = %+v", ms)
	}
	st, err := os.Stat(c.SecretFile)
	if err != nil {
		t.Fatalf("secret not created: %v", err)
	}
	if st.Mode().Perm() != 0o600 || len(c.Secret) < 32 {
		t.Errorf("secret mode %o len %d", st.Mode().Perm(), len(c.Secret))
	}
	again, err := config.Load(path)
	if err != nil || string(again.Secret) != string(c.Secret) {
		t.Errorf("second load changed the secret: %v", err)
	}
	if out, err := c.TOML(); err != nil || !strings.Contains(string(out), "node2") {
		t.Errorf("TOML() = %s, %v", out, err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "none.toml"))
	if err == nil || !strings.Contains(err.Error(), "no cluster file") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	base := "[[node]]\nname = \"node0\"\nlisten = \"127.0.0.1:8081\"\ncontrol = \"127.0.0.1:8181\"\n"
	tests := []struct {
		name, file string
		want       string // "LINE: KEY: text" fragment
	}{
		{"UnknownKey", "[master]\nlisten = \"127.0.0.1:1\"\nlistn = \"x\"\n", ":3: master.listn: unknown key"},
		{"UnknownTable", "[mastr]\nlisten = \"x\"\n", ":1: mastr"},
		{"BadSyntax", "[master\n", ":1:"},
		{"WrongType", "[master]\nkeep_releases = \"ten\"\n", ":2:"},
		{"BadDuration", base + "keepalive = \"soon\"\n", ":5:"},
		{"BadDriver", "[database]\ndriver = \"oracle\"\n", ":2: database.driver: must be"},
		{"MySQLNoPrimary", "[database]\ndriver = \"mysql\"\n", "database.primary: is required"},
		{"BadAddr", "[master]\nlisten = \"nohost\"\n", ":2: master.listen:"},
		{"DupAddr", base + "[[node]]\nname = \"node1\"\nlisten = \"127.0.0.1:8081\"\ncontrol = \"127.0.0.1:8182\"\n", ":7: node[1].listen: address 127.0.0.1:8081 is already used by node[0].listen"},
		{"DupNode", base + "[[node]]\nname = \"node0\"\nlisten = \"127.0.0.1:8082\"\ncontrol = \"127.0.0.1:8182\"\n", ":6: node[1].name: node \"node0\" is defined twice"},
		{"NodeNoListen", "[[node]]\nname = \"node0\"\ncontrol = \"127.0.0.1:8181\"\n", ":1: node[0].listen: is required"},
		{"BadNodeName", "[[node]]\nname = \"../x\"\nlisten = \"127.0.0.1:8081\"\ncontrol = \"127.0.0.1:8181\"\n", ":2: node[0].name:"},
		{"UnknownMember", base + "[[balancer.pool]]\nname = \"web\"\nmembers = [\"node9\"]\n", ":7: balancer.pool[0].members: no [[node]] is named \"node9\""},
		{"BadMethod", base + "[[balancer.pool]]\nname = \"web\"\nmethod = \"random\"\nmembers = [\"node0\"]\n", ":7: balancer.pool[0].method:"},
		{"BadCIDR", "[balancer]\nmanager_allow = [\"lan\"]\n", ":2: balancer.manager_allow:"},
		{"BadVHost", base + "[[balancer.vhost]]\nhosts = [\"a b\"]\npool = \"web\"\n", ":6: balancer.vhost[0].hosts:"},
		{"NegativeWorkers", base + "workers = -1\n", ":5: node[0].workers: must be between 0"},
		{"TooManyWorkers", "[balancer]\nworkers = 5000\n", ":2: balancer.workers: must be between 0"},
		{"PeerNoVRRP", tier(""), ":1: balancer.vrrp.address: is required"},
		{"PeerReservedName", strings.Replace(tier(vrrp), `name = "lb1"`, `name = "reload"`, 1), ":6: balancer.peer[0].name: \"reload\" is a subcommand"},
		{"PeerNoControl", strings.Replace(tier(vrrp), `control = "10.0.0.1:8100"`, ``, 1), ":5: balancer.peer[0].control: is required"},
		{"PeerSamePriority", strings.Replace(tier(vrrp), "priority = 150", "priority = 100", 1), ":13: balancer.peer[1].priority: priority 100 is also lb1's"},
		{"PeerBadRouterID", strings.Replace(tier(vrrp), "router_id = 51", "router_id = 256", 1), ":4: balancer.vrrp.router_id: must be between 1 and 255"},
		{"PeerBadAddress", strings.Replace(tier(vrrp), "10.0.0.100/24", "10.0.0.100", 1), ":2: balancer.vrrp.address:"},
		{"PeerFractionalAdvert", tier(vrrp + "advert = \"500ms\"\n"), ":5: balancer.vrrp.advert: must be whole seconds"},
		{"OnePeer", "[balancer.vrrp]\naddress = \"10.0.0.100/24\"\ninterface = \"eth0\"\nrouter_id = 51\n[[balancer.peer]]\nname = \"lb1\"\ncontrol = \"10.0.0.1:8100\"\n", ":5: balancer.peer[0]: a tier needs at least two"},
		{"ManagerUnderControl", "[balancer]\nmanager = \"/_orchard/m\"\n", ":2: balancer.manager:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("/x/orchard.toml", []byte(tt.file))
			if err == nil {
				t.Fatalf("Parse succeeded, want error containing %q", tt.want)
			}
			var es config.Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not config.Errors: %v", err, err)
			}
			if !strings.Contains(err.Error(), "/x/orchard.toml") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

const vrrp = "address = \"10.0.0.100/24\"\ninterface = \"eth0\"\nrouter_id = 51\n"

// tier is a cluster file with two balancer peers; vrrpKeys go under
// [balancer.vrrp] (line 1), so the first peer starts on the line after them.
func tier(vrrpKeys string) string {
	return "[balancer.vrrp]\n" + vrrpKeys +
		"[[balancer.peer]]\nname = \"lb1\"\ncontrol = \"10.0.0.1:8100\"\npriority = 150\n" +
		"[[balancer.peer]]\nname = \"lb2\"\ncontrol = \"10.0.0.2:8100\"\ndata = \"/srv/lb2\"\npriority = 100\ninterface = \"eth1\"\n"
}

func TestBalancerNamed(t *testing.T) {
	c, err := config.Parse("/x/orchard.toml", []byte("[balancer]\nlisten = \"0.0.0.0:80\"\n"+tier(vrrp)))
	if err != nil {
		t.Fatal(err)
	}
	lb1, err := c.BalancerNamed("lb1")
	if err != nil {
		t.Fatal(err)
	}
	if lb1.Name != "lb1" || lb1.Listen != "0.0.0.0:80" || lb1.Control != "10.0.0.1:8100" || lb1.Data != "/x/data/balancer/lb1" || lb1.VRRP.Interface != "eth0" {
		t.Errorf("lb1 = name %q listen %q control %q data %q interface %q", lb1.Name, lb1.Listen, lb1.Control, lb1.Data, lb1.VRRP.Interface)
	}
	lb2, _ := c.BalancerNamed("lb2")
	if lb2.Data != "/srv/lb2" || lb2.VRRP.Interface != "eth1" || lb2.VRRP.Grace.Duration != 4*time.Second {
		t.Errorf("lb2 = data %q interface %q grace %v", lb2.Data, lb2.VRRP.Interface, lb2.VRRP.Grace)
	}
	if _, err := c.BalancerNamed(""); err == nil || !strings.Contains(err.Error(), "[lb1 lb2]") {
		t.Errorf("BalancerNamed(\"\") = %v, want an error listing the balancers", err)
	}
	if _, err := c.BalancerNamed("lb3"); err == nil {
		t.Error("BalancerNamed(lb3) succeeded")
	}
	if got := c.BalancerControls(); len(got) != 2 || got["lb2"] != "10.0.0.2:8100" {
		t.Errorf("BalancerControls() = %v", got)
	}

	single, err := config.Parse("/x/orchard.toml", []byte("[balancer]\ncontrol = \"127.0.0.1:8100\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := single.BalancerNamed(""); err != nil || b.Control != "127.0.0.1:8100" || b.Data != "/x/data/balancer" {
		t.Errorf("single BalancerNamed(\"\") = %+v, %v", b, err)
	}
	if _, err := single.BalancerNamed("lb1"); err == nil {
		t.Error("a single balancer answered to a name")
	}
}

func FuzzParse(f *testing.F) {
	seed, _ := os.ReadFile("testdata/cluster.toml")
	f.Add(seed)
	f.Add([]byte("[[node]]\nname=\"a\"\n[[balancer.pool]]\nmembers=[\"a\"]\n"))
	f.Add([]byte(tier(vrrp)))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse("/x/orchard.toml", data)
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
	})
}
