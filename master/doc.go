// Package master serves every registered site dynamically on the master's
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
// Each request reads the site's content in one snapshot (LoadSite); the
// parsed templates and the index of a site are reused while a fingerprint of
// that content is unchanged, and rendered files are kept (within a byte
// budget) for as long as the content is. An edit is visible to the next
// request.
package master
