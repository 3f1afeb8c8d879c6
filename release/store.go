package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/orchardhq/orchard"
)

// ErrBlobsMissing is returned when a release is activated before every blob
// it refers to is stored.
var ErrBlobsMissing = errors.New("release has missing blobs")

// Store is the on-disk state shared by the master and the nodes: the blob
// store, the manifests of every release of every site, and the active
// release pointer of each site. Layout under dir:
//
//	blobs/packs/NNNNNN.pack|.idx  content-addressed blobs written in bulk (see Blobs)
//	blobs/ab/abcdef...            content-addressed blobs written one by one
//	sites/HOST/releases/ID.manifest manifest of release ID (EncodeManifest)
//	sites/HOST/releases/ID.json   manifest of release ID as JSON (older stores)
//	sites/HOST/releases/ID.build  build record (master only; incremental builds)
//	sites/HOST/releases/ID.release summary of the manifest (for listings)
//	sites/HOST/active             id of the active release
//
// Every file is written to a temporary file, fsynced, renamed into place and
// the directory fsynced, so a process killed at any moment restarts with the
// old or the new state, never a mix. HOST is a host name checked by
// orchard.NormalizeHost and ID a checked release id before either is joined
// onto a path. A Store is safe for concurrent use.
type Store struct {
	dir   string
	blobs *Blobs
	mu    sync.Mutex // serialises writers of the active pointers

	activeMu sync.Mutex
	active   *activeCache // ActiveAll's last answer (activeall.go)

	lastMu sync.Mutex
	last   *orchard.Manifest // the manifest last loaded or saved (they are immutable)
	lastID string
}

// remember keeps m (stored under id) as the last manifest used, so that the
// usual load-then-activate does not read and decode it twice.
func (s *Store) remember(m *orchard.Manifest, id string) {
	s.lastMu.Lock()
	s.last, s.lastID = m, id
	s.lastMu.Unlock()
}

// recall returns the remembered manifest of site/id, or nil.
func (s *Store) recall(site, id string) *orchard.Manifest {
	s.lastMu.Lock()
	defer s.lastMu.Unlock()
	if s.last != nil && s.lastID == id && s.last.Site == site {
		return s.last
	}
	return nil
}

// OpenStore opens (creating if needed) the store under dir.
func OpenStore(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open release store: %w", err)
	}
	b, err := OpenBlobs(abs)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(abs, "sites"), 0o755); err != nil {
		return nil, fmt.Errorf("open release store: %w", err)
	}
	return &Store{dir: abs, blobs: b}, nil
}

// Close closes the store's pack files (see Blobs.Close). It is idempotent.
func (s *Store) Close() error { return s.blobs.Close() }

// Dir returns the directory of the store.
func (s *Store) Dir() string { return s.dir }

// Blobs returns the store's blobs.
func (s *Store) Blobs() *Blobs { return s.blobs }

// checkSite returns an EINVALID *Error unless site is a canonical host name.
func checkSite(site string) error {
	h, err := orchard.NormalizeHost(site)
	if err != nil {
		return err
	}
	if h != site {
		return orchard.Errorf(orchard.EINVALID, "Site %q is not in canonical form (%q).", site, h)
	}
	return nil
}

func (s *Store) releasesDir(site string) string {
	return filepath.Join(s.dir, "sites", site, "releases")
}

// Manifest files: binary (EncodeManifest) since it exists, JSON before.
const (
	manifestExt     = ".manifest"
	jsonManifestExt = ".json"
)

// manifestPath returns the file holding release id of site (checked), or
// "" when it is not stored.
func (s *Store) manifestPath(site, id string) string {
	base := filepath.Join(s.releasesDir(site), id)
	for _, ext := range []string{manifestExt, jsonManifestExt} {
		if _, err := os.Stat(base + ext); err == nil {
			return base + ext
		}
	}
	return ""
}

// SaveManifest validates m and stores it under its id, which it returns. A
// manifest already stored under that id is kept as it is (same files).
func (s *Store) SaveManifest(m *orchard.Manifest) (string, error) {
	if err := checkSite(m.Site); err != nil {
		return "", err
	}
	// EncodeManifest validates m as m.Validate does (and its parent) and
	// computes its id in the same pass.
	data, id, err := EncodeManifest(m)
	if err != nil {
		return "", err
	}
	return id, s.saveEncoded(m, id, data)
}

// SaveCheckedManifest is SaveManifest for a manifest the caller has
// already validated (m.Validate, a canonical site) and whose id it computed
// (m.ID()), as the publish protocol does when a release is staged: it skips
// doing both again.
func (s *Store) SaveCheckedManifest(m *orchard.Manifest, id string) error {
	if !orchard.ValidReleaseID(id) {
		return orchard.Errorf(orchard.EINVALID, "Release id %q is invalid.", id)
	}
	if err := checkSite(m.Site); err != nil {
		return err
	}
	return s.saveManifest(m, id)
}

// saveManifest stores m under id, which the caller computed (m.ID()): in
// the binary encoding, or as JSON when m does not pass its checks (a build
// saves what it made; publishing it is refused later, as before).
func (s *Store) saveManifest(m *orchard.Manifest, id string) error {
	if s.manifestPath(m.Site, id) != "" {
		return nil
	}
	data, got, err := EncodeManifest(m)
	if err != nil {
		if data, err = json.Marshal(m); err != nil {
			return fmt.Errorf("save manifest %s/%s: %w", m.Site, id, err)
		}
		return s.writeManifest(m, id, jsonManifestExt, data)
	}
	if got != id {
		return fmt.Errorf("save manifest %s/%s: content has id %s", m.Site, id, got)
	}
	return s.writeManifest(m, id, manifestExt, data)
}

// SaveEncodedManifest is SaveCheckedManifest for a manifest the caller
// also holds in the binary encoding: encoded must be what DecodeManifest
// turned into m and id (as a node stages a release it was sent). It writes
// encoded as it is.
func (s *Store) SaveEncodedManifest(m *orchard.Manifest, id string, encoded []byte) error {
	if !orchard.ValidReleaseID(id) {
		return orchard.Errorf(orchard.EINVALID, "Release id %q is invalid.", id)
	}
	if err := checkSite(m.Site); err != nil {
		return err
	}
	if !IsBinaryManifest(encoded) {
		return orchard.Errorf(orchard.EINVALID, "Manifest %s is not in the binary encoding.", id)
	}
	return s.saveEncoded(m, id, encoded)
}

// saveEncoded stores m, already checked and encoded as data, under its id.
func (s *Store) saveEncoded(m *orchard.Manifest, id string, data []byte) error {
	if s.manifestPath(m.Site, id) != "" {
		return nil
	}
	return s.writeManifest(m, id, manifestExt, data)
}

// writeManifest writes the manifest file of m (id) with extension ext.
func (s *Store) writeManifest(m *orchard.Manifest, id, ext string, data []byte) error {
	p := filepath.Join(s.releasesDir(m.Site), id+ext)
	if err := writeFileAtomic(p, data); err != nil {
		return fmt.Errorf("save manifest %s/%s: %w", m.Site, id, err)
	}
	// A small summary beside it lets Releases list without parsing
	// every manifest; it is only a cache of the manifest.
	if sum, err := json.Marshal(summary(m, id)); err == nil {
		_ = WriteCacheFile(filepath.Join(s.releasesDir(m.Site), id+".release"), sum)
	}
	s.remember(m, id)
	return nil
}

// Manifest loads release id of site (ENOTFOUND when it is not stored).
// Manifests are immutable: callers must not modify the one returned.
func (s *Store) Manifest(site, id string) (*orchard.Manifest, error) {
	m, _, err := s.ManifestEncoded(site, id)
	return m, err
}

// ManifestEncoded is Manifest that also returns the manifest's binary
// encoding (EncodeManifest) as stored, or nil when it is stored as JSON:
// what publish sends without encoding it again.
func (s *Store) ManifestEncoded(site, id string) (*orchard.Manifest, []byte, error) {
	if err := checkSite(site); err != nil {
		return nil, nil, err
	}
	if !orchard.ValidReleaseID(id) {
		return nil, nil, orchard.Errorf(orchard.EINVALID, "Release id %q is invalid.", id)
	}
	p := s.manifestPath(site, id)
	if p == "" {
		return nil, nil, orchard.Errorf(orchard.ENOTFOUND, "Release %s of %s not found.", id, site)
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, orchard.Errorf(orchard.ENOTFOUND, "Release %s of %s not found.", id, site)
	} else if err != nil {
		return nil, nil, fmt.Errorf("load manifest %s/%s: %w", site, id, err)
	}
	var (
		m     *orchard.Manifest
		gotID string
	)
	var encoded []byte
	if IsBinaryManifest(data) {
		if m, gotID, err = DecodeManifest(data); err != nil {
			return nil, nil, fmt.Errorf("load manifest %s/%s: %w", site, id, err)
		}
		encoded = data
	} else {
		m = new(orchard.Manifest)
		if err := json.Unmarshal(data, m); err != nil {
			return nil, nil, fmt.Errorf("load manifest %s/%s: %w", site, id, err)
		}
		gotID = m.ID()
	}
	if m.Site != site || gotID != id {
		return nil, nil, fmt.Errorf("load manifest %s/%s: content does not match its name", site, id)
	}
	s.remember(m, id)
	return m, encoded, nil
}

// Sites returns the sites that have releases, sorted.
func (s *Store) Sites() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, "sites"))
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && checkSite(e.Name()) == nil {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Releases lists the stored releases of site, newest first (by creation
// time, then id). A site without releases gives an empty list.
func (s *Store) Releases(site string) ([]orchard.Release, error) {
	if err := checkSite(site); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(s.releasesDir(site))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("list releases of %s: %w", site, err)
	}
	var out []orchard.Release
	seen := map[string]bool{}
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), manifestExt)
		if !ok {
			id, ok = strings.CutSuffix(e.Name(), jsonManifestExt)
		}
		if !ok || !orchard.ValidReleaseID(id) || seen[id] {
			continue
		}
		seen[id] = true
		var r orchard.Release
		if data, err := os.ReadFile(filepath.Join(s.releasesDir(site), id+".release")); err == nil &&
			json.Unmarshal(data, &r) == nil && r.ID == id && r.Site == site {
			out = append(out, r)
			continue
		}
		m, err := s.Manifest(site, id)
		if err != nil {
			return nil, err
		}
		out = append(out, Summary(m))
	}
	sortNewestFirst(out)
	return out, nil
}

// sortNewestFirst orders releases by creation time, newest first. Created
// has a resolution of one second (it is the pages' Last-Modified), so two
// builds in the same second tie; among those a release built on top of
// another (its Parent chain reaches it) comes first.
func sortNewestFirst(rels []orchard.Release) {
	parent := make(map[string]string, len(rels))
	for _, r := range rels {
		parent[r.ID] = r.Parent
	}
	depth := make(map[string]int, len(rels))
	for _, r := range rels {
		d := 0
		for p := r.Parent; p != "" && d < len(rels); p = parent[p] {
			if _, ok := parent[p]; !ok {
				break
			}
			d++
		}
		depth[r.ID] = d
	}
	sort.Slice(rels, func(i, j int) bool {
		if !rels[i].Created.Equal(rels[j].Created) {
			return rels[i].Created.After(rels[j].Created)
		}
		if depth[rels[i].ID] != depth[rels[j].ID] {
			return depth[rels[i].ID] > depth[rels[j].ID]
		}
		return rels[i].ID > rels[j].ID
	})
}

// Summary returns the listing form of a manifest. Files and Bytes count the
// served files, not the gzip variants nor the release's settings file.
func Summary(m *orchard.Manifest) orchard.Release {
	return summary(m, m.ID())
}

// summary is Summary for m whose id is known.
func summary(m *orchard.Manifest, id string) orchard.Release {
	r := orchard.Release{ID: id, Site: m.Site, Parent: m.Parent, Created: m.Created}
	for k, e := range m.Files {
		if IsReserved(k) {
			continue
		}
		r.Files++
		r.Bytes += e.Size
	}
	return r
}

// ServedFiles counts the files of m that nodes serve (not the release's
// settings file), as Summary and a build's report do.
func ServedFiles(m *orchard.Manifest) int {
	n := len(m.Files)
	for k := range m.Files {
		if IsReserved(k) {
			n--
		}
	}
	return n
}

// Active returns the id of the active release of site, or "" if it has none.
func (s *Store) Active(site string) (string, error) {
	if err := checkSite(site); err != nil {
		return "", err
	}
	data, err := os.ReadFile(filepath.Join(s.dir, "sites", site, "active"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("read active release of %s: %w", site, err)
	}
	id := string(bytes.TrimSpace(data))
	if !orchard.ValidReleaseID(id) {
		return "", fmt.Errorf("read active release of %s: corrupt pointer %q", site, id)
	}
	return id, nil
}

// SetActive makes release id the active release of site, atomically on
// disk. The manifest must be stored (ENOTFOUND) and every blob it names
// present (an error wrapping ErrBlobsMissing). It returns the manifest.
func (s *Store) SetActive(site, id string) (*orchard.Manifest, error) {
	if err := checkSite(site); err != nil {
		return nil, err
	}
	m := s.recall(site, id)
	if m == nil {
		var err error
		if m, err = s.Manifest(site, id); err != nil {
			return nil, err
		}
	} else if s.manifestPath(site, id) == "" {
		return nil, orchard.Errorf(orchard.ENOTFOUND, "Release %s of %s not found.", id, site)
	}
	if err := s.setActive(m, id); err != nil {
		return nil, err
	}
	return m, nil
}

// SetActiveManifest is SetActive for a manifest the caller already holds
// and has saved: id must be what SaveManifest returned for m. It checks
// once that every blob m names is present (an error wrapping
// ErrBlobsMissing) and moves the pointer, without reading, decoding or
// hashing m again. ENOTFOUND when no manifest is stored under id.
func (s *Store) SetActiveManifest(m *orchard.Manifest, id string) error {
	if err := checkSite(m.Site); err != nil {
		return err
	}
	if !orchard.ValidReleaseID(id) {
		return orchard.Errorf(orchard.EINVALID, "Release id %q is invalid.", id)
	}
	if s.manifestPath(m.Site, id) == "" {
		return orchard.Errorf(orchard.ENOTFOUND, "Release %s of %s not found.", id, m.Site)
	}
	return s.setActive(m, id)
}

// setActive checks the blobs of m (stored under id) and moves the pointer.
func (s *Store) setActive(m *orchard.Manifest, id string) error {
	if miss := s.blobs.MissingOf(m.BlobHashes()); len(miss) > 0 {
		return fmt.Errorf("activate %s/%s: %d blobs missing: %w", m.Site, id, len(miss), ErrBlobsMissing)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := writeFileAtomic(filepath.Join(s.dir, "sites", m.Site, "active"), []byte(id+"\n")); err != nil {
		return fmt.Errorf("activate %s/%s: %w", m.Site, id, err)
	}
	g, err := s.bumpActiveGen(m.Site, id)
	if err != nil {
		return fmt.Errorf("activate %s/%s: %w", m.Site, id, err)
	}
	s.moved(m.Site, id, g)
	return nil
}

// Latest returns the id of the newest release of site (by creation time,
// then id, as Releases orders them), or "" when it has none. It reads the
// small summaries beside the manifests, not the manifests.
func (s *Store) Latest(site string) (string, error) {
	if id := s.latestPointer(site); id != "" {
		return id, nil
	}
	rels, err := s.Releases(site)
	if err != nil || len(rels) == 0 {
		return "", err
	}
	return rels[0].ID, nil
}

// setLatest records id as the release the last build of site produced, so
// that a build that comes back to an earlier release (an edit undone) makes
// that release the newest again although its Created is older.
func (s *Store) setLatest(site, id string) error {
	if err := checkSite(site); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(s.dir, "sites", site, "latest"), []byte(id+"\n"))
}

// latestPointer returns the id setLatest recorded, or "" when there is none
// or its release is gone.
func (s *Store) latestPointer(site string) string {
	if checkSite(site) != nil {
		return ""
	}
	data, err := os.ReadFile(filepath.Join(s.dir, "sites", site, "latest"))
	if err != nil {
		return ""
	}
	id := string(bytes.TrimSpace(data))
	if !orchard.ValidReleaseID(id) {
		return ""
	}
	if s.manifestPath(site, id) == "" {
		return ""
	}
	return id
}

// Prune removes the oldest releases of site so that at most keep remain,
// never the active one, and returns the ids removed. Blobs are left to GC.
func (s *Store) Prune(site string, keep int) ([]string, error) {
	rels, err := s.Releases(site)
	if err != nil {
		return nil, err
	}
	active, err := s.Active(site)
	if err != nil {
		return nil, err
	}
	latest := s.latestPointer(site)
	var removed []string
	kept := 0
	for _, r := range rels {
		if r.ID == active || r.ID == latest || kept < keep {
			kept++
			continue
		}
		base := filepath.Join(s.releasesDir(site), r.ID)
		for _, ext := range []string{manifestExt, jsonManifestExt, ".build", ".release"} {
			if err := os.Remove(base + ext); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return removed, fmt.Errorf("prune %s/%s: %w", site, r.ID, err)
			}
		}
		removed = append(removed, r.ID)
	}
	return removed, nil
}

// Collect prunes every site to keep releases (see Prune; 0 keeps all) and
// then removes the blobs no remaining release refers to (see GC),
// returning how many blobs it removed. The master and the nodes both run
// it after publishes.
func (s *Store) Collect(keep int) (int, error) { return s.collect(keep) }

// PruneOver is Prune for a site with more than keep releases, and for the
// others nothing but a listing of their releases: Prune reads the summary
// of each release to order them, and a node prunes every site after a
// restart.
func (s *Store) PruneOver(site string, keep int) ([]string, error) {
	files, err := s.manifestFiles(site)
	if err != nil || len(files) <= keep {
		return nil, err
	}
	return s.Prune(site, keep)
}

// GC removes every blob that no stored manifest of any site refers to (and
// that is older than Blobs.Grace), returning how many it removed.
func (s *Store) GC() (int, error) { return s.collect(0) }

// collect is Collect, GC when keep is 0. It lists each site's releases
// once, prunes only a site with more than keep of them (Prune would keep
// every release of any other, and reads the summary of each to order
// them), and reads each remaining manifest for its blobs alone
// (manifestBlobKeys). A node runs it every minute while publishes go
// on: listing every site with Releases twice and decoding every manifest
// whole took 3.4 s at 10,000 sites of one release each.
func (s *Store) collect(keep int) (int, error) {
	sites, err := s.Sites()
	if err != nil {
		return 0, err
	}
	live := map[[sha256.Size]byte]bool{}
	add := func(k [sha256.Size]byte) { live[k] = true }
	for _, site := range sites {
		files, err := s.manifestFiles(site)
		if err != nil {
			return 0, err
		}
		if keep > 0 && len(files) > keep {
			removed, err := s.Prune(site, keep)
			if err != nil {
				return 0, err
			}
			for _, id := range removed {
				delete(files, id)
			}
		}
		for id, name := range files {
			if err := s.manifestBlobs(site, id, name, add); err != nil {
				return 0, err
			}
		}
	}
	return s.blobs.gcKeys(live)
}

// manifestFiles returns the stored manifests of site: release id -> file
// name, the binary one when a release has both (as manifestPath).
func (s *Store) manifestFiles(site string) (map[string]string, error) {
	ents, err := os.ReadDir(s.releasesDir(site))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("list releases of %s: %w", site, err)
	}
	files := map[string]string{}
	for _, e := range ents {
		name := e.Name()
		id, ok := strings.CutSuffix(name, manifestExt)
		if !ok {
			if id, ok = strings.CutSuffix(name, jsonManifestExt); !ok || files[id] != "" {
				continue
			}
		}
		if orchard.ValidReleaseID(id) {
			files[id] = name
		}
	}
	return files, nil
}

// manifestBlobs calls add with every blob of release id of site, stored in
// the file name of its releases directory.
func (s *Store) manifestBlobs(site, id, name string, add func([sha256.Size]byte)) error {
	data, err := os.ReadFile(filepath.Join(s.releasesDir(site), name))
	if err != nil {
		return fmt.Errorf("load manifest %s/%s: %w", site, id, err)
	}
	if IsBinaryManifest(data) {
		got, err := manifestBlobKeys(data, add)
		if err == nil && got != site {
			err = errors.New("content does not match its name")
		}
		if err != nil {
			return fmt.Errorf("load manifest %s/%s: %w", site, id, err)
		}
		return nil
	}
	var m orchard.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("load manifest %s/%s: %w", site, id, err)
	}
	if m.Site != site {
		return fmt.Errorf("load manifest %s/%s: content does not match its name", site, id)
	}
	for _, e := range m.Files {
		for _, h := range []string{e.SHA256, e.Gzip} {
			if k, ok := keyOf(h); ok {
				add(k)
			}
		}
	}
	return nil
}

// writeFileAtomic writes data to path by way of a temporary file in the
// same directory: write, fsync, rename, fsync the directory.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// WriteCacheFile writes a file that only caches what other files hold (a
// summary, a build record) by way of a temporary file renamed into place,
// without fsync: after a crash it may be missing or unreadable, never a mix
// of two versions, and readers of such files fall back to the source. The
// node keeps its alias cache with it too.
func WriteCacheFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// readCacheFile decodes a file WriteCacheFile wrote, or returns the zero T
// when it is missing or does not decode: the caller then goes to the
// source.
func readCacheFile[T any](path string, decode func([]byte) (T, error)) T {
	var zero T
	data, err := os.ReadFile(path)
	if err != nil {
		return zero
	}
	v, err := decode(data)
	if err != nil {
		return zero
	}
	return v
}

// syncDir fsyncs a directory so a rename inside it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
