// Package releasetest writes release fixtures straight into a release
// store, for tests and benchmarks that need many sites quickly: blobs
// written without fsync (the caller syncs once), a manifest returned
// unsaved, no builder and no renderer.
package releasetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

// Release is a manifest being filled with files whose blobs go into a
// store as they are put.
type Release struct {
	tb testing.TB
	st *release.Store
	M  *orchard.Manifest
}

// New starts release version of host (its creation time follows from the
// version) with the site's settings file, as the builder writes it.
func New(tb testing.TB, st *release.Store, host string, version int, aliases ...string) *Release {
	tb.Helper()
	r := &Release{tb: tb, st: st, M: &orchard.Manifest{
		Site: host, Created: time.Unix(1.7e9+int64(version), 0).UTC(), Files: map[string]orchard.ManifestEntry{},
	}}
	settings, err := json.Marshal(release.SettingsOf(&orchard.Site{Host: host, Aliases: aliases}))
	if err != nil {
		tb.Fatal(err)
	}
	r.Put(release.SettingsKey, "application/json", settings)
	return r
}

// Put adds the file key with data, and a gzip variant for data of 256
// bytes or more, as the builder makes (its bytes do not matter here).
func (r *Release) Put(key, contentType string, data []byte) {
	r.tb.Helper()
	e := orchard.ManifestEntry{SHA256: r.blob(data), Size: int64(len(data)), ContentType: contentType}
	if len(data) >= 256 {
		gz := append([]byte("gzip of "), data...)
		e.Gzip, e.GzipSize = r.blob(gz), int64(len(gz))
	}
	r.M.Files[key] = e
}

func (r *Release) blob(data []byte) string {
	r.tb.Helper()
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if err := r.st.Blobs().PutVerifiedNoSync(sha, bytes.NewReader(data), int64(len(data))); err != nil {
		r.tb.Fatal(err)
	}
	return sha
}

// WriteActive saves m in the release store under dir and makes it the
// site's active release, as a store that published it leaves them, but
// without fsync (a fixture, not a publish), and returns its id.
func WriteActive(tb testing.TB, dir string, m *orchard.Manifest) string {
	tb.Helper()
	data, id, err := release.EncodeManifest(m)
	if err != nil {
		tb.Fatal(err)
	}
	rels := filepath.Join(dir, "sites", m.Site, "releases")
	if err := os.MkdirAll(rels, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rels, id+".manifest"), data, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sites", m.Site, "active"), []byte(id+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	return id
}
