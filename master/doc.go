// Package master is the master role: its Service builds sites from the
// database into the release store, publishes and rolls back releases to
// the nodes, keeps the publish statistics (and their Prometheus
// collector, NewStatsCollector) and, after every publish whichever way it
// was started (orchard publish, the admin UI), prunes old releases and
// garbage-collects their blobs by one rule. cmd/orchard only wires it.
//
// Its SiteHandler serves every registered site dynamically on the master's
// traffic address: the Host header picks the site, the path picks the file,
// and the file is rendered from the database by the render package. It is
// the fallback renderer releases are built from, so it serves byte for byte
// what a release of the same content holds.
//
// The request rules are the nodes' rules: the host is normalised and looked
// up (an unknown or invalid host is a plain 404 that names nothing
// internal); the escaped path is cleaned (a "..", an encoded slash or a
// control character is a 400) and mapped to a manifest key ("/x/" ->
// "/x/index.html"; "/x" is redirected to "/x/" when only the directory form
// exists); a missing file is the site's own 404 page with status 404; only
// GET and HEAD are allowed. Every response carries X-Orchard-Release:
// dynamic and Cache-Control: no-cache, since edits change it without a new
// release.
//
// Each request asks the store for the site's content version
// (Store.SiteVersion, one indexed read) and is answered from a lazy
// renderer kept for that version: made from the site's index without page
// bodies (LoadSiteIndex), it reads a page's body (PageBodies) only when the
// page is rendered. When the version changes, the next request makes a new
// renderer, which keeps every rendered file whose inputs' hashes
// (render.Renderer.Inputs of the output's Deps) are unchanged and renders
// the others again on demand; so an edit is visible to the very next
// request, and a read of an unchanged page costs one query. Rendered files
// are kept per site within MaxCacheBytes (least recently used first out),
// and renderers for at most MaxSites sites.
package master
