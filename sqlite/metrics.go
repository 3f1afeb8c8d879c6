package sqlite

import "database/sql"

// SQLDBs returns the connection pools by name ("write": the single writer,
// "read": the query-only readers) for pool statistics, e.g.
// collectors.NewDBStatsCollector(pool, "sqlite-"+name). Callers must not
// close or reconfigure them.
func (d *DB) SQLDBs() map[string]*sql.DB {
	return map[string]*sql.DB{"write": d.write, "read": d.read}
}
