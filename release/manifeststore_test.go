package release_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

// TestStoreManifestFiles checks that manifests are saved in the binary
// encoding, that a store written as JSON before still loads, lists and
// prunes, and that SaveEncodedManifest writes what it is given.
func TestStoreManifestFiles(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	rels := filepath.Join(dir, "sites", "codec.test", "releases")

	m1 := codecManifest(5)
	id1, err := s.SaveManifest(m1)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(rels, id1+".manifest"))
	if err != nil || !release.IsBinaryManifest(data) {
		t.Fatalf("saved manifest: %v, binary %v", err, release.IsBinaryManifest(data))
	}

	// An older store: the manifest as ID.json.
	m2 := codecManifest(7)
	m2.Created = m1.Created.Add(1e9)
	id2 := m2.ID()
	js, _ := json.Marshal(m2)
	if err := os.WriteFile(filepath.Join(rels, id2+".json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Manifest("codec.test", id2); err != nil || got.ID() != id2 {
		t.Fatalf("legacy manifest: %v", err)
	}
	if err := s.SaveCheckedManifest(m2, id2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(rels, id2+".manifest")); !os.IsNotExist(err) {
		t.Fatalf("saved again beside the JSON one: %v", err)
	}

	// As a node saves what it was sent.
	m3 := codecManifest(9)
	m3.Created = m1.Created.Add(2e9)
	enc, id3, err := release.EncodeManifest(m3)
	if err != nil {
		t.Fatal(err)
	}
	dec, did, err := release.DecodeManifest(enc)
	if err != nil || did != id3 {
		t.Fatal(err)
	}
	if err := s.SaveEncodedManifest(dec, id3, []byte(`{"not":"binary"}`)); orchard.ErrorCode(err) != orchard.EINVALID {
		t.Fatalf("JSON given as encoded: %v", err)
	}
	if err := s.SaveEncodedManifest(dec, id3, enc); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(rels, id3+".manifest")); string(got) != string(enc) {
		t.Fatal("SaveEncodedManifest did not write the encoding it was given")
	}
	if err := s.SetActiveManifest(dec, id3); err == nil {
		t.Fatal("activated with no blobs stored")
	}

	if got, enc, err := s.ManifestEncoded("codec.test", id3); err != nil || got.ID() != id3 || string(enc) != string(encBytes(t, m3)) {
		t.Fatalf("ManifestEncoded of a binary manifest: %v", err)
	}
	if got, enc, err := s.ManifestEncoded("codec.test", id2); err != nil || got.ID() != id2 || enc != nil {
		t.Fatalf("ManifestEncoded of a JSON manifest: %v, %d bytes", err, len(enc))
	}
	if _, _, err := s.ManifestEncoded("codec.test", "0123456789abcdef"); orchard.ErrorCode(err) != orchard.ENOTFOUND {
		t.Fatalf("ManifestEncoded of no manifest: %v", err)
	}

	list, err := s.Releases("codec.test")
	if err != nil || len(list) != 3 || list[0].ID != id3 || list[1].ID != id2 || list[2].ID != id1 {
		t.Fatalf("Releases = %+v, %v", list, err)
	}
	// Without the summaries, from the manifests themselves.
	for _, id := range []string{id1, id2, id3} {
		os.Remove(filepath.Join(rels, id+".release"))
	}
	if list, err := s.Releases("codec.test"); err != nil || len(list) != 3 || list[0].Files != 9+2 {
		t.Fatalf("Releases without summaries = %+v, %v", list, err)
	}
	removed, err := s.Prune("codec.test", 1)
	if err != nil || len(removed) != 2 {
		t.Fatalf("Prune = %v, %v", removed, err)
	}
	left, _ := filepath.Glob(filepath.Join(rels, "*"))
	if len(left) != 1 || filepath.Base(left[0]) != id3+".manifest" {
		t.Fatalf("left after prune: %v", left)
	}
}

func encBytes(t *testing.T, m *orchard.Manifest) []byte {
	t.Helper()
	b, _, err := release.EncodeManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
