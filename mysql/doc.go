// Package mysql implements orchard.Store on MySQL or MariaDB with
// github.com/go-sql-driver/mysql: one database holding a registry of sites
// (orchard_sites, orchard_hosts, orchard_redirects), the users
// (orchard_users) and one set of content tables for every site
// (orchard_categories, orchard_pages, orchard_assets, orchard_templates)
// whose primary keys start with site_id, the site's id in orchard_sites,
// as the sqlite store lays them out. The schema does not grow with the
// sites (issue 23).
//
// Writes go to the primary. Reads go round robin to the replicas that are
// replicating and lag less than Options.MaxLag; after a write, a replica is
// used only once it has applied the primary's GTID position as of that
// write (read-your-writes), else the read goes to the primary. A replica
// that fails a read is taken out until its next health check passes, and
// the read is retried on the primary.
//
// CreateSite, ReplaceSite and DropSite each write in one transaction and
// hold a named lock (GET_LOCK) per site meanwhile, so they take turns on
// one host.
//
// Sites made by an older orchard had tables of their own, named
// orchard.TablePrefix(host) + "_pages" and so on (orchard_sites.layout 0);
// Open moves their rows into the shared tables, one transaction per site,
// and then drops them (moveSites).
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
