package release_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/orchardhq/orchard/release"
)

// scaleBlobsPerSite is how many blobs a small site has (issue 23's sites:
// 20 pages and their listings, gzip variants, settings): about 43.
const scaleBlobsPerSite = 43

// scaleBlob returns blob i of a store's fixture: 300 bytes, its own.
func scaleBlob(i int) []byte {
	b := bytes.Repeat([]byte("orchard "), 300/8)
	binary.LittleEndian.PutUint64(b, uint64(i))
	return b
}

// mustFillBlobs writes the blobs of sites sites into the store under dir
// (one Sync), as the master's or a node's store holds them.
func mustFillBlobs(tb testing.TB, dir string, sites int) {
	tb.Helper()
	b := openBlobs(tb, dir)
	for i := range sites * scaleBlobsPerSite {
		data := scaleBlob(i)
		sum := sha256.Sum256(data)
		if err := b.PutVerifiedNoSync(hex.EncodeToString(sum[:]), bytes.NewReader(data), int64(len(data))); err != nil {
			tb.Fatal(err)
		}
	}
	mustSync(tb, b)
	b.Close()
	// Written a while ago, as a store's packs are when a CLI command
	// opens them (the filter cache records only idx files older than 2 s).
	old := time.Now().Add(-time.Hour)
	names, _ := filepath.Glob(filepath.Join(dir, "blobs", "packs", "*.idx"))
	for _, n := range names {
		if err := os.Chtimes(n, old, old); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkSyncOneSite is the blob store's part of publishing one site's
// edit on a node (or building it on the master) in a store holding the
// blobs of sites sites: a few new blobs appended, then Sync, which must
// cost the same however many blobs the store holds.
func BenchmarkSyncOneSite(b *testing.B) {
	for _, sites := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("sites=%d", sites), func(b *testing.B) {
			dir := b.TempDir()
			mustFillBlobs(b, dir, sites)
			bl := openBlobs(b, dir)
			next := sites * scaleBlobsPerSite
			for b.Loop() {
				for range 5 {
					data := scaleBlob(next)
					next++
					sum := sha256.Sum256(data)
					if err := bl.PutVerifiedNoSync(hex.EncodeToString(sum[:]), bytes.NewReader(data), int64(len(data))); err != nil {
						b.Fatal(err)
					}
				}
				if err := bl.Sync(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenBlobs opens a blob store holding the blobs of sites sites
// and looks one up, as a CLI command (build -s, publish -s) does.
func BenchmarkOpenBlobs(b *testing.B) {
	for _, sites := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("sites=%d", sites), func(b *testing.B) {
			dir := b.TempDir()
			mustFillBlobs(b, dir, sites)
			sum := sha256.Sum256(scaleBlob(7))
			sha := hex.EncodeToString(sum[:])
			openBlobs(b, dir).Close() // as the store's last user did: writes the filter cache
			for b.Loop() {
				bl, err := release.OpenBlobs(dir)
				if err != nil {
					b.Fatal(err)
				}
				if !bl.Has(sha) {
					b.Fatal("a blob of the store is missing")
				}
				bl.Close()
			}
		})
	}
}
