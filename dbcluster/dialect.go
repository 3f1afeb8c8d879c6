package dbcluster

import (
	"fmt"
	"strconv"
	"strings"
)

// Flavors of server.
const (
	MariaDB = "mariadb"
	MySQL   = "mysql"
)

// Dialect is the SQL a server speaks for replication, chosen from its
// version string (SELECT VERSION()).
type Dialect struct {
	Flavor  string // MariaDB or MySQL
	Version [3]int // major, minor, patch
}

// ParseVersion reads a server version such as "10.11.19-MariaDB-0+deb12u1-log"
// or "8.0.36". It refuses servers too old for GTID replication as orchard
// runs it (MariaDB before 10.0.2, MySQL before 5.7).
func ParseVersion(v string) (Dialect, error) {
	var d Dialect
	d.Flavor = MySQL
	if strings.Contains(strings.ToLower(v), "mariadb") {
		d.Flavor = MariaDB
	}
	num := v
	if i := strings.IndexFunc(num, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') }); i >= 0 {
		num = num[:i]
	}
	parts := strings.Split(num, ".")
	if len(parts) < 2 {
		return Dialect{}, fmt.Errorf("unrecognised server version %q", v)
	}
	for i := 0; i < 3 && i < len(parts); i++ {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n > 1000 {
			return Dialect{}, fmt.Errorf("unrecognised server version %q", v)
		}
		d.Version[i] = n
	}
	// MariaDB 10.x once reported itself as "5.5.5-10.x.y-MariaDB".
	if d.Flavor == MariaDB && d.Version[0] == 5 && d.Version[1] == 5 && d.Version[2] == 5 {
		if rest, ok := strings.CutPrefix(v, "5.5.5-"); ok {
			return ParseVersion(rest)
		}
	}
	if (d.Flavor == MariaDB && d.before(10, 0, 2)) || (d.Flavor == MySQL && d.before(5, 7, 0)) {
		return Dialect{}, fmt.Errorf("server version %q is too old for GTID replication (need MariaDB 10.0.2 or MySQL 5.7)", v)
	}
	return d, nil
}

// String returns e.g. "MariaDB 10.11.19".
func (d Dialect) String() string {
	name := "MySQL"
	if d.Flavor == MariaDB {
		name = "MariaDB"
	}
	return fmt.Sprintf("%s %d.%d.%d", name, d.Version[0], d.Version[1], d.Version[2])
}

func (d Dialect) before(major, minor, patch int) bool {
	v := d.Version
	if v[0] != major {
		return v[0] < major
	}
	if v[1] != minor {
		return v[1] < minor
	}
	return v[2] < patch
}

// mysqlReplicaWords reports whether a MySQL server has the REPLICA/SOURCE
// statement names (8.0.22 and 8.0.23 introduced them).
func (d Dialect) mysqlReplicaWords() bool { return d.Flavor == MySQL && !d.before(8, 0, 23) }

// replicaWords returns newer on a server with the REPLICA/SOURCE statement
// names and older (the SLAVE names, which MariaDB keeps) elsewhere.
func (d Dialect) replicaWords(newer, older string) string {
	if d.mysqlReplicaWords() {
		return newer
	}
	return older
}

// StopReplica stops both replication threads.
func (d Dialect) StopReplica() string { return d.replicaWords("STOP REPLICA", "STOP SLAVE") }

// StartReplica starts both replication threads.
func (d Dialect) StartReplica() string { return d.replicaWords("START REPLICA", "START SLAVE") }

// ResetReplica forgets the server's replication source.
func (d Dialect) ResetReplica() string { return d.replicaWords("RESET REPLICA ALL", "RESET SLAVE ALL") }

// ShowReplicaStatus returns one row per source (none on a primary).
func (d Dialect) ShowReplicaStatus() string {
	return d.replicaWords("SHOW REPLICA STATUS", "SHOW SLAVE STATUS")
}

// ChangeSource points a replica at a source with GTID auto-positioning. Its
// four placeholders are host, port, user and password, in that order; the
// statement accepts only literals there, so it must run on a connection
// with client-side interpolation (InterpolateParams), which escapes them.
func (d Dialect) ChangeSource() string {
	switch {
	case d.Flavor == MariaDB:
		return "CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, " +
			"MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 5"
	case d.mysqlReplicaWords():
		return "CHANGE REPLICATION SOURCE TO SOURCE_HOST = ?, SOURCE_PORT = ?, SOURCE_USER = ?, SOURCE_PASSWORD = ?, " +
			"SOURCE_AUTO_POSITION = 1, SOURCE_CONNECT_RETRY = 5, GET_SOURCE_PUBLIC_KEY = 1"
	default:
		return "CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, " +
			"MASTER_AUTO_POSITION = 1, MASTER_CONNECT_RETRY = 5"
	}
}

// GTIDExecuted selects every GTID the server has in its binary log: what a
// replica of it must reach to have everything.
func (d Dialect) GTIDExecuted() string {
	if d.Flavor == MariaDB {
		return "SELECT @@GLOBAL.gtid_binlog_pos"
	}
	return "SELECT @@GLOBAL.gtid_executed"
}

// GTIDCurrent selects the GTID position the server has applied, as a
// replica or as a primary.
func (d Dialect) GTIDCurrent() string {
	if d.Flavor == MariaDB {
		return "SELECT @@GLOBAL.gtid_current_pos"
	}
	return "SELECT @@GLOBAL.gtid_executed"
}

// WaitGTID waits until the server has applied a GTID position; its
// placeholders are the position and a timeout in seconds. It selects 0 when
// reached and another value on timeout.
func (d Dialect) WaitGTID() string {
	if d.Flavor == MariaDB {
		return "SELECT MASTER_GTID_WAIT(?, ?)"
	}
	return "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?)"
}

// SetReadOnly makes the server refuse writes from ordinary accounts (on MySQL
// 8 it is persisted across restarts; on MariaDB put read_only=1 in the
// server's configuration too).
func (d Dialect) SetReadOnly(on bool) string {
	v := "0"
	if on {
		v = "1"
	}
	if d.Flavor == MySQL && d.Version[0] >= 8 {
		return "SET PERSIST read_only = " + v
	}
	return "SET GLOBAL read_only = " + v
}

// MonitorPrivilege is the global privilege that lets an account read
// replication status (the store measures replica lag with it).
func (d Dialect) MonitorPrivilege() string {
	if d.Flavor == MariaDB && !d.before(10, 5, 9) {
		return "SLAVE MONITOR"
	}
	return "REPLICATION CLIENT"
}

// replicaColumns maps the names of SHOW SLAVE/REPLICA STATUS columns to the
// names orchard uses (MySQL 8.0.22 renamed them).
var replicaColumns = map[string]string{
	"Master_Host":           "host",
	"Source_Host":           "host",
	"Master_Port":           "port",
	"Source_Port":           "port",
	"Master_User":           "user",
	"Source_User":           "user",
	"Slave_IO_Running":      "io",
	"Replica_IO_Running":    "io",
	"Slave_SQL_Running":     "sql",
	"Replica_SQL_Running":   "sql",
	"Seconds_Behind_Master": "lag",
	"Seconds_Behind_Source": "lag",
	"Last_IO_Error":         "io_error",
	"Last_SQL_Error":        "sql_error",
	"Using_Gtid":            "using_gtid",
	"Auto_Position":         "auto_position",
	"Gtid_IO_Pos":           "gtid_io",
	"Retrieved_Gtid_Set":    "gtid_io",
}
