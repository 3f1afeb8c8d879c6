// Package release builds sites into immutable, content-addressed releases
// and keeps them on disk, for the master and the web nodes alike.
//
// A release is an orchard.Manifest: every file of a site (manifest key ->
// SHA-256, size, content type, gzip variant) plus, under the reserved key
// SettingsKey ("/_orchard/site.json"), a small JSON blob with the site's
// serving settings (host, aliases, Cache-Control, 404 page; see Settings).
// Carrying the settings as a file of the release means a release is
// self-contained: publishing moves manifests and blobs only, and a node
// knows a site's aliases from the release it activates.
//
// The on-disk layout (Store) is one for master and nodes:
//
//	DIR/blobs/packs/NNNNNN.pack       blobs written in bulk (builds, publish batches)
//	DIR/blobs/packs/NNNNNN.idx        sorted sha -> offset, size of a pack, checksummed
//	DIR/blobs/packs/filters           a filter of each pack's blobs (a cache: packfilters.go)
//	DIR/blobs/ab/abcdef...            blobs written one by one, named by their SHA-256
//	DIR/sites/HOST/releases/ID.manifest manifests, binary (EncodeManifest)
//	DIR/sites/HOST/releases/ID.json   manifests of older stores, JSON (still read)
//	DIR/sites/HOST/releases/ID.build  build records (master; incremental builds; binary)
//	DIR/sites/HOST/releases/ID.release summaries, for listings
//	DIR/sites/HOST/active             the active release id
//
// For the publish protocol:
//
//	st, err := release.OpenStore(dir)          // or node.Store()
//	id, err := st.SaveManifest(m)              // stage: validates, stores
//	missing := st.Blobs().Missing(m)           // hashes to ask for
//	data, id, err := release.EncodeManifest(m) // compact wire/disk form; validates, computes the id
//	m, id, err := release.DecodeManifest(data) // checked as Validate does; no Validate or ID needed
//	err = st.SaveEncodedManifest(m, id, data)  // node: saves the bytes it was sent
//	m, data, err := st.ManifestEncoded(site, id) // master: the stored bytes, to send as they are
//	err = st.Blobs().PutVerified(sha, body, max) // errors.Is(err, release.ErrHashMismatch) -> 422
//	err = st.Blobs().PutVerifiedNoSync(sha, body, max) // many blobs: appended to a pack, invisible until...
//	err = st.Blobs().Sync()                    // ...one fsync of the pack + its idx (before activation)
//	data, err := st.Blobs().Get(sha)           // or r, err := st.Blobs().Open(sha); defer r.Close()
//	m, err := st.SetActive(site, id)           // errors.Is(err, release.ErrBlobsMissing) -> 409
//	err = st.SetActiveManifest(m, id)          // same, for a manifest just saved (no reload)
//	rels, err := st.Releases(site)             // newest first
//	id, err := st.Latest(site)                 // newest release id, from the summaries
//	active, err := st.Active(site)
//	removed, err := st.Prune(site, keep); n, err := st.GC()
//
// A blob visible under its name is always whole, verified and durable.
// Creating one file per blob is what costs most on many file systems, so
// blobs written in bulk are appended to a pack file instead: Sync fsyncs the
// pack and then rewrites its index (temporary file, fsync, rename), which a
// bound on the blobs of a pack (PackEntries) keeps small; Open reads and
// checks every index the filter cache does not describe (a lookup asks
// each pack's filter, then binary-searches its index), cuts off
// whatever a crash left past the last Sync and removes packs whose index
// is missing or damaged. A blob
// appended but not yet synced can be read (Get) by the process that wrote
// it, but counts as missing (Has, Missing) until Sync. Blobs written alone
// (Put, PutVerified) are loose files, fsynced and renamed into place, and
// Blobs remembers (bounded) which it has seen, so checking a release that
// shares most blobs with the last one reads no directory. GC deletes packs
// none of whose blobs is referenced and compacts those mostly unreferenced.
// Several processes may open one store: each appends to packs of its own
// (flock-ed while open) and finds the others' newly synced packs when a
// lookup misses.
//
// A node activates through node.(*Node).Activate, which saves the manifest,
// checks its blobs once (SetActiveManifest) and swaps its in-memory state.
//
// Builder renders through a Renderer (Outputs, Render, Inputs; cmd/orchard
// adapts *render.Renderer) and is incremental: beside each manifest it keeps
// a digest of the inputs each output came from and the manifest entry it
// produced, and re-renders only the outputs whose inputs changed, appeared or
// vanished; reused outputs need neither a render nor the previous manifest.
package release
