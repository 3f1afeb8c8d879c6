// Package mysql implements orchard.Store on MySQL or MariaDB with
// github.com/go-sql-driver/mysql: one database holding a registry of sites
// (orchard_sites, orchard_hosts), the users (orchard_users) and a set of
// tables per site named from orchard.TablePrefix, exactly as the sqlite
// store lays them out.
//
// Writes go to the primary. Reads go round robin to the replicas that are
// replicating and lag less than Options.MaxLag; after a write, a replica is
// used only once it has applied the primary's GTID position as of that
// write (read-your-writes), else the read goes to the primary. A replica
// that fails a read is taken out until its next health check passes, and
// the read is retried on the primary.
//
// MySQL DDL is not transactional, so operations that create tables
// (CreateSite, ReplaceSite) create them first, write every row in one
// transaction, and drop the tables they created if anything fails; they
// hold a named lock (GET_LOCK) per site meanwhile.
//
// Each page row keeps its orchard.Page.ContentDigest, computed when the page
// is written (migration 4 computed it for pages written before), so that
// LoadSiteIndex returns pages without their bodies and PageBodies tells a
// build whether a page changed since.
//
// orchard_sites.version is each site's content version (SiteVersion, added
// by migration 5): it starts at a random number and every write of the
// site's content adds one in the same transaction, first, so that every
// content write locks the site's registry row before its content rows
// (updateContent).
package mysql
