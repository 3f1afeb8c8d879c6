// Package node is orchard's web node: it serves the active release of every
// site it holds, from memory for hot blobs, with the rules of a static file
// server and none of its risks — a request path is cleaned by
// orchard.CleanRequestPath and looked up in the release's routes (built
// from the manifest at activation); it is never joined onto the file
// system, and neither is the Host header (it is only a map key).
//
// Serving rules: Host (or an alias from the release's settings, see
// release.Settings; port and case ignored) -> site, else 404; a site with no
// active release -> 503 with Retry-After; methods other than GET and HEAD ->
// 405 with Allow; "/x/" serves "/x/index.html" and "/x" redirects (301) to
// "/x/" when only the directory form exists; a path with "..", an encoded
// slash or a control character -> 400; a missing file -> the site's 404
// page with status 404. Every response of a site carries X-Orchard-Release.
// Files carry Content-Type, Cache-Control (the site's), Last-Modified (the
// release's creation time), ETag (`"<sha256>"` of the bytes sent: the body's
// hash, or the gzip variant's when gzip is sent) and, with a gzip variant,
// Vary: Accept-Encoding; If-None-Match and If-Modified-Since give 304;
// Range (one range, with If-Range) is honoured for everything but HTML.
//
// The traffic listener is valyala/fasthttp (net/http reached ~0.6x nginx
// on this kind of machine); all header values are precomputed at
// activation, and a hot request allocates nothing. The control listener is
// net/http: /_orchard/health, and /_orchard/v1/ handed to
// Config.ControlHandler (the publish protocol), or just /_orchard/v1/status
// when that is nil.
//
// For the publish protocol:
//
//	n := node.New(node.Config{Name: "node0", Dir: dir, Control: addr, ControlHandler: h})
//	err := n.Open(ctx)                      // loads the active releases from dir
//	id, missing, err := n.Stage(m)          // save manifest, report missing blobs
//	err = n.Blobs().PutVerified(sha, r, max) // release.ErrHashMismatch
//	err = n.ActivateID(site, id)            // or n.Activate(site, m); node.ErrBlobsMissing
//	err = n.ActivateChecked(site, id, m)    // m validated and id = m.ID() by the caller
//	n.Releases(); n.Status()                // site -> active id; full status
package node
