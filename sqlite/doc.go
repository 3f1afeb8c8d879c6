// Package sqlite implements orchard.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go).
//
// The database runs in WAL mode with a busy timeout and foreign keys on, set
// on every pooled connection through the DSN. Writes go through a single
// connection that begins transactions IMMEDIATE, so writers queue instead of
// failing; reads use a separate pool of query-only connections.
//
// A registry (orchard_sites, orchard_hosts, orchard_users) lists the sites,
// their aliases and admin users; each site's content lives in its own
// tables named orchard.TablePrefix(host) + "_categories", "_pages",
// "_assets" and "_templates". Table names are built only from a validated
// host and that fixed list, never from other input; every value is bound as
// a query parameter.
//
// Each page row keeps its orchard.Page.ContentDigest (computed when the page
// is written), and its body is the last column, with a covering index on
// every other column: LoadSiteIndex reads that index alone, not the bodies.
// orchard_sites.schema is the version of a site's tables; Open upgrades
// older sites (version 2: the digest column, 3: the covering index).
//
// orchard_sites.version is each site's content version (SiteVersion): it
// starts at a random number and every write of the site's content adds one
// in the same transaction (updateContent), so a reader can tell with one
// indexed read that nothing changed.
package sqlite
