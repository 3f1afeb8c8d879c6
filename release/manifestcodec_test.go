package release_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"reflect"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func codecManifest(n int) *orchard.Manifest {
	m := &orchard.Manifest{
		Site:    "codec.test",
		Created: time.Date(2026, 11, 26, 2, 30, 0, 0, time.UTC),
		Parent:  "0123456789abcdef",
		Files:   map[string]orchard.ManifestEntry{},
	}
	for i := range n {
		e := orchard.ManifestEntry{SHA256: hashOf(fmt.Sprint("b", i)), Size: int64(i * 100), ContentType: "text/html; charset=utf-8"}
		if i%2 == 0 {
			e.Gzip, e.GzipSize = hashOf(fmt.Sprint("g", i)), int64(i)
		}
		if i%5 == 0 {
			e.ContentType = "text/css"
		}
		m.Files[fmt.Sprintf("/p/%d/index.html", i)] = e
	}
	m.Files["/a"] = orchard.ManifestEntry{SHA256: hashOf("a"), ContentType: "text/plain"}
	m.Files["/ab"] = orchard.ManifestEntry{SHA256: hashOf("ab"), ContentType: "text/plain"}
	m.Files[release.SettingsKey] = orchard.ManifestEntry{SHA256: hashOf("s"), Size: 2, ContentType: "application/json"}
	return m
}

// sameManifest compares as JSON does: what travels and is hashed.
func sameManifest(t *testing.T, a, b *orchard.Manifest) {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ja, jb) {
		t.Fatalf("manifests differ:\n%.300s\n%.300s", ja, jb)
	}
}

func TestManifestCodecRoundTrip(t *testing.T) {
	for _, m := range []*orchard.Manifest{
		codecManifest(0),
		codecManifest(1000),
		{Site: "x.test", Created: time.Date(2020, 1, 2, 3, 4, 5, 6, time.FixedZone("", 3600)),
			Files: map[string]orchard.ManifestEntry{"/index.html": {SHA256: hashOf("i"), Size: 1, ContentType: "text/html"}}},
		{Site: "y.test", Files: map[string]orchard.ManifestEntry{"/x": {SHA256: hashOf("x"), ContentType: "a/b"}}},
	} {
		data, id, err := release.EncodeManifest(m)
		if err != nil {
			t.Fatal(err)
		}
		if id != m.ID() {
			t.Fatalf("encode id %s, want %s", id, m.ID())
		}
		if !release.IsBinaryManifest(data) {
			t.Fatal("no magic")
		}
		got, gid, err := release.DecodeManifest(data)
		if err != nil {
			t.Fatal(err)
		}
		if gid != id || got.ID() != id {
			t.Fatalf("decode id %s / %s, want %s", gid, got.ID(), id)
		}
		sameManifest(t, got, m)
		if !got.Created.Equal(m.Created) {
			t.Fatalf("created %v, want %v", got.Created, m.Created)
		}
		// Through JSON and back gives the same value as the codec.
		var viaJSON orchard.Manifest
		j, _ := json.Marshal(m)
		if err := json.Unmarshal(j, &viaJSON); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Files, viaJSON.Files) || got.Created.String() != viaJSON.Created.String() {
			t.Fatalf("codec and JSON disagree: %v / %v", got.Created, viaJSON.Created)
		}
	}
}

func TestEncodeManifestRejects(t *testing.T) {
	good := func() *orchard.Manifest { return codecManifest(3) }
	for name, mod := range map[string]func(m *orchard.Manifest){
		"BadSite":   func(m *orchard.Manifest) { m.Site = "bad site" },
		"NoFiles":   func(m *orchard.Manifest) { m.Files = nil },
		"BadParent": func(m *orchard.Manifest) { m.Parent = "xyz" },
		"DotDot":    func(m *orchard.Manifest) { m.Files["/a/../b"] = m.Files["/a"] },
		"Dir":       func(m *orchard.Manifest) { m.Files["/d/"] = m.Files["/a"] },
		"Relative":  func(m *orchard.Manifest) { m.Files["a"] = m.Files["/a"] },
		"BadHash":   func(m *orchard.Manifest) { m.Files["/z"] = orchard.ManifestEntry{SHA256: "ABC", ContentType: "a/b"} },
		"UpperHash": func(m *orchard.Manifest) {
			m.Files["/z"] = orchard.ManifestEntry{SHA256: "A" + hashOf("z")[1:], ContentType: "a/b"}
		},
		"BadGzip": func(m *orchard.Manifest) {
			m.Files["/z"] = orchard.ManifestEntry{SHA256: hashOf("z"), Gzip: "00", ContentType: "a/b"}
		},
		"NegSize": func(m *orchard.Manifest) {
			m.Files["/z"] = orchard.ManifestEntry{SHA256: hashOf("z"), Size: -1, ContentType: "a/b"}
		},
		"NoType": func(m *orchard.Manifest) { m.Files["/z"] = orchard.ManifestEntry{SHA256: hashOf("z")} },
		"CtrlInType": func(m *orchard.Manifest) {
			m.Files["/z"] = orchard.ManifestEntry{SHA256: hashOf("z"), ContentType: "a\nb"}
		},
		"Year10000": func(m *orchard.Manifest) { m.Created = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
	} {
		t.Run(name, func(t *testing.T) {
			m := good()
			mod(m)
			if _, _, err := release.EncodeManifest(m); orchard.ErrorCode(err) != orchard.EINVALID {
				t.Fatalf("err %v, want EINVALID", err)
			}
		})
	}
}

// reseal replaces the checksum after a test changed the body.
func reseal(b []byte) []byte {
	b = b[:len(b)-4]
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

// rawManifest builds a binary manifest by hand, for what EncodeManifest
// refuses to write.
func rawManifest(site string, types []string, entries ...[]byte) []byte {
	b := []byte("OMF\x01")
	b = binary.AppendUvarint(b, uint64(len(site)))
	b = append(b, site...)
	b = append(b, 0, 0, 0, 0) // created 0/0/0, no parent
	b = binary.AppendUvarint(b, uint64(len(types)))
	for _, t := range types {
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
	}
	b = binary.AppendUvarint(b, uint64(len(entries)))
	for _, e := range entries {
		b = append(b, e...)
	}
	return reseal(append(b, 0, 0, 0, 0))
}

func rawEntry(shared int, suffix string, sha []byte) []byte {
	b := binary.AppendUvarint(nil, uint64(shared))
	b = binary.AppendUvarint(b, uint64(len(suffix)))
	b = append(b, suffix...)
	b = append(b, 0)
	b = append(b, sha...)
	return append(b, 1, 0) // size 1, type 0
}

func TestDecodeManifestRejects(t *testing.T) {
	good, _, err := release.EncodeManifest(codecManifest(10))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := release.DecodeManifest(rawManifest("r.test", []string{"a/b"}, rawEntry(0, "/a", make([]byte, 32)))); err != nil {
		t.Fatalf("hand-made manifest refused: %v", err)
	}
	sha := make([]byte, 32)
	huge := binary.AppendUvarint([]byte("OMF\x01\x06r.test\x00\x00\x00\x00\x01\x03a/b"), 1<<40)
	for name, data := range map[string][]byte{
		"Empty":      nil,
		"JSON":       []byte(`{"site":"a.test"}`),
		"Truncated":  good[:len(good)/2],
		"BitFlip":    append(append([]byte{}, good[:20]...), append([]byte{good[20] ^ 1}, good[21:]...)...),
		"Trailing":   reseal(append(append([]byte{}, good...), 0, 0, 0, 0)),
		"DotDot":     rawManifest("r.test", []string{"a/b"}, rawEntry(0, "/a/../b", sha)),
		"Dir":        rawManifest("r.test", []string{"a/b"}, rawEntry(0, "/a/", sha)),
		"Unordered":  rawManifest("r.test", []string{"a/b"}, rawEntry(0, "/b", sha), rawEntry(0, "/a", sha)),
		"Duplicate":  rawManifest("r.test", []string{"a/b"}, rawEntry(0, "/a", sha), rawEntry(2, "", sha)),
		"Shared":     rawManifest("r.test", []string{"a/b"}, rawEntry(0, "/a", sha), rawEntry(5, "b", sha)),
		"NoFiles":    rawManifest("r.test", []string{"a/b"}),
		"BadSite":    rawManifest("r..test", []string{"a/b"}, rawEntry(0, "/a", sha)),
		"NoType":     rawManifest("r.test", nil, rawEntry(0, "/a", sha)),
		"EmptyType":  rawManifest("r.test", []string{""}, rawEntry(0, "/a", sha)),
		"CtrlType":   rawManifest("r.test", []string{"a\x00"}, rawEntry(0, "/a", sha)),
		"ShortHash":  rawManifest("r.test", []string{"a/b"}, rawEntry(0, "/a", sha[:31])),
		"HugeCount":  reseal(append(huge, 0, 0, 0, 0)),
		"EmptyPath":  rawManifest("r.test", []string{"a/b"}, rawEntry(0, "", sha)),
		"Percent":    rawManifest("r.test", []string{"a/b"}, rawEntry(0, "/a%2e", sha)),
		"Backslash":  rawManifest("r.test", []string{"a/b"}, rawEntry(0, "/a\\..\\b", sha)),
		"NulInPath":  rawManifest("r.test", []string{"a/b"}, rawEntry(0, "/a\x00", sha)),
		"BadVersion": append([]byte("OMF\x02"), good[4:]...),
	} {
		t.Run(name, func(t *testing.T) {
			m, _, err := release.DecodeManifest(data)
			if err == nil {
				t.Fatalf("accepted: %v", m)
			}
			if orchard.ErrorCode(err) != orchard.EINVALID {
				t.Fatalf("err %v, want EINVALID", err)
			}
		})
	}
}

func FuzzDecodeManifest(f *testing.F) {
	for _, n := range []int{0, 3, 20} {
		b, _, err := release.EncodeManifest(codecManifest(n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(rawManifest("r.test", []string{"a/b"}, rawEntry(0, "/a/../b", make([]byte, 32))))
	f.Add([]byte("OMF\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Without a valid checksum nothing gets past it: fuzz the body.
		if len(data) >= 8 && release.IsBinaryManifest(data) {
			data = reseal(data)
		}
		m, id, err := release.DecodeManifest(data)
		if err != nil {
			if orchard.ErrorCode(err) != orchard.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		if verr := m.Validate(); verr != nil {
			t.Fatalf("decoded a manifest Validate refuses: %v", verr)
		}
		if id != m.ID() {
			t.Fatalf("id %s, want %s", id, m.ID())
		}
		again, id2, err := release.EncodeManifest(m)
		if err != nil || id2 != id {
			t.Fatalf("re-encode: %v %s", err, id2)
		}
		m2, _, err := release.DecodeManifest(again)
		if err != nil {
			t.Fatal(err)
		}
		sameManifest(t, m2, m)
	})
}

// blobKeysOf returns the blobs m names (files and gzip variants), as
// manifestBlobKeys reports them.
func blobKeysOf(m *orchard.Manifest) map[[32]byte]bool {
	out := map[[32]byte]bool{}
	for _, e := range m.Files {
		for _, h := range []string{e.SHA256, e.Gzip} {
			if raw, err := hex.DecodeString(h); err == nil && len(raw) == 32 {
				out[[32]byte(raw)] = true
			}
		}
	}
	return out
}

// FuzzManifestBlobKeys: reading a manifest's blobs for GC never panics,
// and for every manifest DecodeManifest accepts it accepts it too and
// reports its site and exactly the blobs of its files and their gzip
// variants (a blob left out would be collected while a release names
// it).
func FuzzManifestBlobKeys(f *testing.F) {
	for _, n := range []int{1, 3, 20} {
		b, _, err := release.EncodeManifest(codecManifest(n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(rawManifest("r.test", []string{"a/b"}, rawEntry(0, "/a", make([]byte, 32))))
	f.Add([]byte("OMF\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= 8 && release.IsBinaryManifest(data) {
			data = reseal(data)
		}
		got := map[[32]byte]bool{}
		site, err := release.ManifestBlobKeys(data, func(k [32]byte) { got[k] = true })
		m, _, derr := release.DecodeManifest(data)
		if derr != nil {
			return
		}
		if err != nil {
			t.Fatalf("DecodeManifest accepts what ManifestBlobKeys refuses: %v", err)
		}
		if site != m.Site {
			t.Fatalf("site %q, want %q", site, m.Site)
		}
		if want := blobKeysOf(m); !reflect.DeepEqual(got, want) {
			t.Fatalf("%d blobs, want %d", len(got), len(want))
		}
	})
}

func BenchmarkDecodeManifest(b *testing.B) {
	m := codecManifest(10000)
	data, _, _ := release.EncodeManifest(m)
	js, _ := json.Marshal(m)
	b.Run("binary", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, _, err := release.DecodeManifest(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json+validate+id", func(b *testing.B) {
		b.SetBytes(int64(len(js)))
		for b.Loop() {
			var m orchard.Manifest
			if err := json.Unmarshal(js, &m); err != nil {
				b.Fatal(err)
			}
			if err := m.Validate(); err != nil {
				b.Fatal(err)
			}
			_ = m.ID()
		}
	})
}
