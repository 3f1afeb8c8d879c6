// Package publish moves releases from the master to the web nodes: the
// two-phase, content-addressed protocol of DESIGN.md (core ideas 4, 5 and 7).
//
// Phase one, stage: the master sends a site's manifest to every node
// (POST /_orchard/v1/releases/{site}), in the compact binary encoding of
// release.EncodeManifest (Content-Type release.ManifestContentType; a body
// of any other type is read as JSON); each node validates it and answers
// the blob hashes it lacks (those of files unchanged since the release it
// activated last are not looked up); the master sends only those, one blob per request
// (PUT /_orchard/v1/blobs/{sha256}) or many small ones per request
// (POST /_orchard/v1/blobs, see batch.go), concurrently and bounded. A node
// keeps a blob only after checking that its content hashes to its name.
// Phase two, activate: when every reachable node has staged, the master
// activates the release on all of them
// (POST /_orchard/v1/releases/{site}/{id}/activate); a node refuses (409)
// unless every blob of the manifest is present. Once every node has
// staged, the activations are sent even if the publish is cancelled, so a
// site is never left active on some nodes only by a Ctrl-C.
//
// Many sites at once: a Publisher may run many publishes concurrently (the
// master's PublishAll does); they share one HTTP client and NodeRequests
// request slots per node. A node orders the activations of each site (and
// the release order checks) with a lock per site, not one for the node.
//
// Catch-up: a node asks the master's control listener for the active release
// of every site at start and every few seconds, and pulls what it lacks through
// the same checks (GET /_orchard/v1/releases, /releases/{site},
// /blobs/{sha256}).
//
// Every request under /_orchard/v1/ carries an HMAC-SHA256 signature keyed with
// the cluster secret, for one receiver (see Sign and RequireSignature):
//
//	Authorization: Orchard-HMAC-SHA256 target=<name>, ts=<unix>, nonce=<hex>, sig=<hex>
//	X-Orchard-Content-SHA256: <hex sha256 of the body>
//	sig = hex(HMAC-SHA256(secret, "orchard-v2\n" target "\n" METHOD "\n" PATH "\n" ts "\n" hex(sha256(body)) "\n" nonce))
//
// target is the receiver's node name, or MasterTarget for the master; a
// receiver refuses a request for any other target, so a request captured on
// its way to one node is worth nothing on another. PATH is the escaped
// request path plus "?query" when there is one. The body hash travels in a
// header so a node can check the signature before reading a large body, then
// checks the body against the signed hash while it streams; every handler
// reads a body to its end before it keeps anything, so a body that does not
// match is refused (401) and leaves nothing behind. The nonce (16-64 hex
// digits, required) makes two identical requests in the same second sign
// differently; a verifier refuses a signature it has already seen within
// the five-minute window, and any request signed before it started (the
// seen signatures of a previous run are gone; see Verifier).
//
// Activation moves forward only: a node refuses (ErrStale, 412) a release
// created before its active one, unless the activation is an explicit
// rollback naming the release it replaces (?replaces=<id>, ReplacesParam),
// which must be the node's active release. The stage answer tells the
// master the node's active release (StageAnswer.Active) for that purpose.
// Catch-up is the master's fresh, signed answer to the node's own request
// and may go back (a rollback the node missed).
//
// Errors between master and nodes are sentinels mapped to one status each on
// both sides: ErrUnauthorized 401, ErrTooLarge 413, ErrHashMismatch 422,
// release.ErrBlobsMissing 409, ErrInvalid 400, ErrNotFound 404, ErrStorage 507,
// ErrStale 412.
//
// The package takes plain values and small interfaces (Blobs, State,
// Catalog, BlobSource) that cmd/orchard wires to the release and node
// packages. On a node, Node is the one owner of the protocol's side: it
// stages manifests (validated and hashed once, kept with the binary
// encoding they came in), orders activations, and hands a complete release
// to State.Activate (node.Node), which saves it and serves it. A Blobs that
// also implements UnsyncedBlobs gets batches written without a fsync per
// blob (and hashed once), made durable with one Sync just before
// activation, which refuses a release until that Sync has put every blob in
// place; without it every blob costs two fsyncs, which dominates a first
// publish.
package publish
