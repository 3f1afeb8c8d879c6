package mysql

import "database/sql"

// SQLDBs returns the connection pools by name ("primary", and each replica
// by its host:port) for pool statistics, e.g.
// collectors.NewDBStatsCollector(pool, "mysql-"+name). Callers must not
// close or reconfigure them.
func (d *DB) SQLDBs() map[string]*sql.DB {
	out := make(map[string]*sql.DB, 1+len(d.replicas))
	out["primary"] = d.primary
	for _, r := range d.replicas {
		out[r.addr] = r.db
	}
	return out
}
