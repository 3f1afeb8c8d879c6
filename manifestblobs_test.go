package orchard_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/orchardhq/orchard"
)

func TestManifestBlobHashes(t *testing.T) {
	a, b, z := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)
	m := &orchard.Manifest{Site: "example.com", Files: map[string]orchard.ManifestEntry{
		"/index.html": {SHA256: a, Size: 1, ContentType: "text/html", Gzip: z, GzipSize: 1},
		"/copy.html":  {SHA256: a, Size: 1, ContentType: "text/html", Gzip: z, GzipSize: 1},
		"/logo.png":   {SHA256: b, Size: 1, ContentType: "image/png"},
	}}
	got := m.BlobHashes()
	slices.Sort(got)
	want := []string{a, a, b, z, z}
	if !slices.Equal(got, want) {
		t.Errorf("BlobHashes = %v, want %v (each file's content and gzip variant, once per file)", got, want)
	}
	if n := len((&orchard.Manifest{}).BlobHashes()); n != 0 {
		t.Errorf("an empty manifest names %d blobs", n)
	}
}
