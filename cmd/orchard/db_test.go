package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/internal/mariadbtest"
)

// mysqlCluster starts three private MariaDB servers (no replication yet)
// and writes a cluster file naming them.
func mysqlCluster(t *testing.T) (string, *mariadbtest.Cluster) {
	t.Helper()
	servers, err := mariadbtest.StartServers(t.Context(), t.TempDir(), 3)
	if err != nil {
		mariadbtest.Skip(t, err)
	}
	t.Cleanup(func() { servers.Close() })
	dsn := func(i int) string {
		return fmt.Sprintf("%s@tcp(%s)/%s", mariadbtest.AppUser, servers.Servers[i].Addr(), mariadbtest.Database)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "orchard.toml")
	body := fmt.Sprintf("[database]\ndriver = \"mysql\"\nprimary = %q\nreplicas = [%q, %q]\n[master]\ndata = \"master\"\n",
		dsn(0), dsn(1), dsn(2))
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORCHARD_DB_PASSWORD", mariadbtest.AppPassword)
	t.Setenv(envAdminPassword, "")
	t.Setenv(envReplPassword, "")
	return path, servers
}

// changedRE finds a step that changed something ("unchanged" is not one).
var changedRE = regexp.MustCompile(`(?m)\schanged(\s|$)`)

func TestDBCommand(t *testing.T) {
	cfgPath, servers := mysqlCluster(t)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{mariadbtest.AppPassword, derivedReplPassword(cfg.Secret)}
	noSecrets := func(t *testing.T, r cliResult) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(r.out+r.err, s) {
				t.Errorf("output shows a password:\n%s%s", r.out, r.err)
			}
		}
	}

	t.Run("StatusBeforeInit", func(t *testing.T) {
		r := runCLI(t, cfgPath, "", "db", "status")
		noSecrets(t, r)
		wantExit(t, r, 1, "2 of 3 servers are not as the cluster file says")
		if !strings.Contains(r.out, "standalone (want replica)") && !strings.Contains(r.out, "primary (want replica)") {
			t.Errorf("status does not say the replicas are not replicating:\n%s", r.out)
		}
	})
	t.Run("Init", func(t *testing.T) {
		r := runCLI(t, cfgPath, "", "db", "init")
		noSecrets(t, r)
		if r.code != 0 {
			t.Fatalf("db init: exit %d %s\n%s", r.code, r.err, r.out)
		}
		if !changedRE.MatchString(r.out) || !strings.Contains(r.out, "create user `orchard`@`%`") {
			t.Errorf("db init output:\n%s", r.out)
		}
		r = runCLI(t, cfgPath, "", "db", "init")
		noSecrets(t, r)
		if r.code != 0 || changedRE.MatchString(r.out) {
			t.Errorf("a second db init: exit %d %s\n%s", r.code, r.err, r.out)
		}
	})
	t.Run("Status", func(t *testing.T) {
		out := mustCLI(t, cfgPath, "", "db", "status")
		if strings.Count(out, " replica ") != 2 || !strings.Contains(out, " primary ") {
			t.Errorf("db status:\n%s", out)
		}
		out = mustCLI(t, cfgPath, "", "db", "status", "--json")
		if !strings.Contains(out, `"io_running": "Yes"`) {
			t.Errorf("db status --json:\n%s", out)
		}
	})
	t.Run("Store", func(t *testing.T) {
		st, err := openStore(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.CreateSite(t.Context(), &orchard.Site{Host: "example.com", Title: "On MariaDB"}); err != nil {
			t.Fatal(err)
		}
		s, err := st.Site(t.Context(), "example.com")
		if err != nil || s.Title != "On MariaDB" {
			t.Fatalf("site %+v %v", s, err)
		}
	})
	t.Run("Promote", func(t *testing.T) {
		r := runCLI(t, cfgPath, "", "db", "promote", servers.Servers[1].Addr())
		noSecrets(t, r)
		if r.code != 0 {
			t.Fatalf("db promote: exit %d %s\n%s", r.code, r.err, r.out)
		}
		want := fmt.Sprintf("primary = \"orchard@tcp(%s)/orchard\"", servers.Servers[1].Addr())
		if !strings.Contains(r.out, want) {
			t.Errorf("db promote does not tell the new layout (%s):\n%s", want, r.out)
		}
		r = runCLI(t, cfgPath, "", "db", "promote", "10.9.9.9:3306")
		wantExit(t, r, 2, "not in the cluster file")
	})
	t.Run("Wipe", func(t *testing.T) {
		r := runCLI(t, cfgPath, "", "db", "wipe")
		wantExit(t, r, 2, "--yes")
	})
	t.Run("WrongDriver", func(t *testing.T) {
		r := runCLI(t, testCluster(t), "", "db", "status")
		wantExit(t, r, 2, "database.driver is \"sqlite\"")
	})
	t.Run("WrongAdminPassword", func(t *testing.T) {
		t.Setenv(envAdminPassword, "not-root's-password")
		r := runCLI(t, cfgPath, "", "db", "init")
		wantExit(t, r, 1, "access denied")
		if strings.Contains(r.out+r.err, "not-root's-password") {
			t.Errorf("output shows the admin password")
		}
	})
}

func TestServerAddr(t *testing.T) {
	for in, want := range map[string]string{
		"db1":            "db1:3306",
		"db1:3307":       "db1:3307",
		"10.0.1.2":       "10.0.1.2:3306",
		"[::1]:3307":     "[::1]:3307",
		"[::1]":          "[::1]:3306",
		"a:b:c":          "",
		"10.0.1.2:3306x": "10.0.1.2:3306x", // SplitHostPort accepts it; dbcluster refuses the port
	} {
		got, err := serverAddr(in)
		if (err != nil) != (want == "") || (err == nil && got != want) {
			t.Errorf("serverAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
