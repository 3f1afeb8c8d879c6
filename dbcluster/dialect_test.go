package dbcluster

import (
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in      string
		flavor  string
		version [3]int
		err     bool
	}{
		{"10.11.19-MariaDB-0+deb12u1-log", MariaDB, [3]int{10, 11, 19}, false},
		{"5.5.5-10.6.12-MariaDB", MariaDB, [3]int{10, 6, 12}, false},
		{"11.4.2-MariaDB", MariaDB, [3]int{11, 4, 2}, false},
		{"8.0.36", MySQL, [3]int{8, 0, 36}, false},
		{"8.4.0-commercial", MySQL, [3]int{8, 4, 0}, false},
		{"5.7.44-log", MySQL, [3]int{5, 7, 44}, false},
		{"5.6.51", "", [3]int{}, true},
		{"10.0.1-MariaDB", "", [3]int{}, true},
		{"", "", [3]int{}, true},
		{"MariaDB", "", [3]int{}, true},
		{"8", "", [3]int{}, true},
		{"99999.1.1", "", [3]int{}, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			d, err := ParseVersion(tc.in)
			if tc.err {
				if err == nil {
					t.Fatalf("ParseVersion(%q) = %v, want an error", tc.in, d)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Flavor != tc.flavor || d.Version != tc.version {
				t.Errorf("ParseVersion(%q) = %s %v, want %s %v", tc.in, d.Flavor, d.Version, tc.flavor, tc.version)
			}
		})
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"10.11.19-MariaDB-0+deb12u1-log", "5.5.5-10.6.12-MariaDB", "8.0.36", "5.5.5-5.5.5-MariaDB", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseVersion(s)
		if err != nil {
			return
		}
		if d.Flavor != MariaDB && d.Flavor != MySQL {
			t.Fatalf("flavor %q", d.Flavor)
		}
		for _, n := range d.Version {
			if n < 0 || n > 1000 {
				t.Fatalf("version %v", d.Version)
			}
		}
		if d.String() == "" {
			t.Fatal("empty String")
		}
	})
}

func TestDialectStatements(t *testing.T) {
	maria, _ := ParseVersion("10.11.19-MariaDB")
	mysql8, _ := ParseVersion("8.0.36")
	mysql57, _ := ParseVersion("5.7.44")
	for _, tc := range []struct {
		name string
		got  string
		want string
	}{
		{"MariaDBChange", maria.ChangeSource(), "CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos"},
		{"MySQL8Change", mysql8.ChangeSource(), "CHANGE REPLICATION SOURCE TO SOURCE_HOST = ?, SOURCE_PORT = ?, SOURCE_USER = ?, SOURCE_PASSWORD = ?, SOURCE_AUTO_POSITION = 1"},
		{"MySQL57Change", mysql57.ChangeSource(), "CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_AUTO_POSITION = 1"},
		{"MariaDBStart", maria.StartReplica(), "START SLAVE"},
		{"MySQL8Start", mysql8.StartReplica(), "START REPLICA"},
		{"MySQL8Stop", mysql8.StopReplica(), "STOP REPLICA"},
		{"MySQL8Reset", mysql8.ResetReplica(), "RESET REPLICA ALL"},
		{"MySQL57Show", mysql57.ShowReplicaStatus(), "SHOW SLAVE STATUS"},
		{"MySQL8Show", mysql8.ShowReplicaStatus(), "SHOW REPLICA STATUS"},
		{"MariaDBWait", maria.WaitGTID(), "SELECT MASTER_GTID_WAIT(?, ?)"},
		{"MySQLWait", mysql8.WaitGTID(), "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?)"},
		{"MariaDBPos", maria.GTIDExecuted(), "SELECT @@GLOBAL.gtid_binlog_pos"},
		{"MySQLPos", mysql8.GTIDExecuted(), "SELECT @@GLOBAL.gtid_executed"},
		{"MariaDBReadOnly", maria.SetReadOnly(true), "SET GLOBAL read_only = 1"},
		{"MySQL8ReadOnly", mysql8.SetReadOnly(false), "SET PERSIST read_only = 0"},
		{"MariaDBMonitor", maria.MonitorPrivilege(), "SLAVE MONITOR"},
		{"MySQLMonitor", mysql8.MonitorPrivilege(), "REPLICATION CLIENT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.HasPrefix(tc.got, tc.want) {
				t.Errorf("got %q, want it to start with %q", tc.got, tc.want)
			}
		})
	}
}

func TestParseGrant(t *testing.T) {
	for _, tc := range []struct {
		line  string
		privs string
		on    string
		ok    bool
	}{
		{"GRANT SELECT, INSERT, UPDATE ON `orchard`.* TO `orchard`@`%`", "SELECT|INSERT|UPDATE", "`orchard`.*", true},
		{"GRANT REPLICATION SLAVE ON *.* TO `orchard_repl`@`%` IDENTIFIED BY PASSWORD '*ABC'", "REPLICATION SLAVE", "*.*", true},
		{"GRANT USAGE ON *.* TO `x`@`%`", "USAGE", "*.*", true},
		{"REVOKE ALL", "", "", false},
		{"GRANT SELECT", "", "", false},
		{"GRANT SELECT ON x", "", "", false},
	} {
		privs, on, ok := parseGrant(tc.line)
		if ok != tc.ok || strings.Join(privs, "|") != tc.privs || on != tc.on {
			t.Errorf("parseGrant(%q) = %q %q %v, want %q %q %v", tc.line, privs, on, ok, tc.privs, tc.on, tc.ok)
		}
	}
}

func FuzzParseGrant(f *testing.F) {
	f.Add("GRANT SELECT, INSERT ON `orchard`.* TO `orchard`@`%`")
	f.Add("GRANT ON  TO ")
	f.Fuzz(func(t *testing.T, line string) {
		privs, on, ok := parseGrant(line)
		if !ok && (privs != nil || on != "") {
			t.Fatalf("not ok but returned %q %q", privs, on)
		}
	})
}

func TestValidate(t *testing.T) {
	good := Cluster{
		Primary:  Server{Addr: "10.0.1.10:3306"},
		Replicas: []Server{{Addr: "db2.example:3306"}, {Addr: "[::1]:3307"}},
		Database: "orchard",
		App:      Account{User: "orchard", Password: "x"},
		Repl:     Account{User: "repl", Host: "10.0.1.%", Password: "y"},
	}
	if err := good.validate(true); err != nil {
		t.Fatalf("a good cluster: %v", err)
	}
	for _, tc := range []struct {
		name  string
		spoil func(c *Cluster)
	}{
		{"DatabaseQuote", func(c *Cluster) { c.Database = "orchard`; DROP DATABASE x; --" }},
		{"DatabaseEmpty", func(c *Cluster) { c.Database = "" }},
		{"DatabaseDash", func(c *Cluster) { c.Database = "a-b" }},
		{"UserQuote", func(c *Cluster) { c.App.User = "o'r" }},
		{"UserTooLong", func(c *Cluster) { c.App.User = strings.Repeat("u", 33) }},
		{"HostQuote", func(c *Cluster) { c.Repl.Host = "%'" }},
		{"HostBacktick", func(c *Cluster) { c.Repl.Host = "`" }},
		{"NoPassword", func(c *Cluster) { c.Repl.Password = "" }},
		{"SameUser", func(c *Cluster) { c.Repl.User = "orchard" }},
		{"AddrNoPort", func(c *Cluster) { c.Primary.Addr = "10.0.1.10" }},
		{"AddrBadPort", func(c *Cluster) { c.Primary.Addr = "10.0.1.10:99999" }},
		{"AddrBadHost", func(c *Cluster) { c.Replicas[0].Addr = "a'b:3306" }},
		{"AddrTwice", func(c *Cluster) { c.Replicas[1].Addr = c.Primary.Addr }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			c.Replicas = append([]Server(nil), good.Replicas...)
			tc.spoil(&c)
			if err := c.validate(true); err == nil {
				t.Errorf("validate accepted it")
			}
		})
	}
}

func TestQuoteIdent(t *testing.T) {
	if got := quoteIdent("a`b"); got != "`a``b`" {
		t.Errorf("quoteIdent = %s", got)
	}
	if got := (Account{User: "orchard"}).account(); got != "`orchard`@`%`" {
		t.Errorf("account = %s", got)
	}
}
