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

func FuzzParse(f *testing.F) {
	seed, _ := os.ReadFile("testdata/cluster.toml")
	f.Add(seed)
	f.Add([]byte("[[node]]\nname=\"a\"\n[[balancer.pool]]\nmembers=[\"a\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse("/x/orchard.toml", data)
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
	})
}
