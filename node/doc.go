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
// net/http: /_orchard/health, /metrics (Config.Metrics) and /_orchard/v1/
// handed to the handler given to SetControlHandler (the publish protocol's
// receiver, publish.Node, which stages releases and calls Activate).
//
//	n := node.New(node.Config{Name: "node0", Dir: dir, Control: addr})
//	n.SetControlHandler(h)                  // e.g. publish.NewNode(...{State: n}).Handler()
//	err := n.Open(ctx)                      // learns the active releases from dir; they load lazily (warm.go)
//	err = n.Blobs().PutVerified(sha, r, max) // release.ErrHashMismatch
//	err = n.Activate(site, id, m, encoded)  // release.ErrBlobsMissing; m checked, id = m.ID()
//	n.Releases(); n.ActiveCreated(site)     // site -> active id; when the active one was built
package node
