// Package sqlite implements orchard.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go).
//
// The database runs in WAL mode with a busy timeout and foreign keys on, set
// on every pooled connection through the DSN. Writes go through a single
// connection that begins transactions IMMEDIATE, so writers queue instead of
// failing; reads use a separate pool of query-only connections.
//
// A registry (orchard_sites, orchard_hosts, orchard_users,
// orchard_redirects) lists the sites, their aliases, redirects and users.
// Every site's content lives in one set of tables (orchard_categories,
// orchard_pages, orchard_assets, orchard_templates) whose primary keys
// start with site_id, the site's id in orchard_sites: the schema is the
// same size for ten sites or ten thousand, so opening the store and
// creating a site cost the same at any count (issue 23). Ids are never
// handed out twice (orchard_site_ids). Every value is bound as a query
// parameter.
//
// Each page row keeps its orchard.Page.ContentDigest (computed when the page
// is written), and its body is the last column, with a covering index on
// (site_id and) every other column: LoadSiteIndex reads that index alone,
// not the bodies.
//
// Sites made by an older orchard had tables of their own, named
// orchard.TablePrefix(host) + "_pages" and so on; orchard_sites.schema
// below 4 marks them, and Open moves their rows into the shared tables and
// drops them, one site per transaction (moveSites).
//
// orchard_sites.version is each site's content version (SiteVersion): it
// starts at a random number and every write of the site's content adds one
// in the same transaction (updateContent), so a reader can tell with one
// indexed read that nothing changed.
package sqlite
