// Package dbcluster manages MySQL/MariaDB replication for orchard: the
// seed's db-cluster-utils rebuilt as `orchard db`. A Cluster (a primary and
// its replicas, reached with an administrative account) can be initialised
// (database, application and replication accounts with least privileges,
// read-only replicas replicating by GTID), started, stopped, inspected,
// grown, shrunk, switched over (Promote, Demote) and wiped. Every operation
// is idempotent and reports each step per server; no password is ever
// printed and every identifier is validated and quoted.
//
// The SQL dialect, MariaDB (CHANGE MASTER TO ... MASTER_USE_GTID=slave_pos)
// or MySQL 8 (CHANGE REPLICATION SOURCE TO ... SOURCE_AUTO_POSITION=1), is
// chosen from each server's version.
//
// StartLocal runs a private MariaDB server (its own data directory, port,
// socket and binary log) for tests and for `orchard demo --mysql`.
package dbcluster
