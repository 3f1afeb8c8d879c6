package release_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

func shaOf(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// A blob put without sync is invisible under its name until Sync.
func TestBlobsPutVerifiedNoSync(t *testing.T) {
	b := openBlobs(t, t.TempDir())
	t.Run("OK", func(t *testing.T) {
		var shas []string
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := range 80 {
			d := []byte(fmt.Sprintf("blob %d", i%40)) // each written twice, concurrently
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := b.PutVerifiedNoSync(shaOf(d), bytes.NewReader(d), 100); err != nil {
					t.Error(err)
				}
				mu.Lock()
				shas = append(shas, shaOf(d))
				mu.Unlock()
			}()
		}
		wg.Wait()
		for _, s := range shas {
			if b.Has(s) {
				t.Fatalf("blob %s visible before Sync", s)
			}
		}
		if err := b.Sync(); err != nil {
			t.Fatal(err)
		}
		for i := range 40 {
			d := []byte(fmt.Sprintf("blob %d", i))
			if got, err := b.Get(shaOf(d)); err != nil || !bytes.Equal(got, d) {
				t.Fatalf("after Sync: Get = %q, %v; want %q", got, err, d)
			}
		}
		if err := b.Sync(); err != nil { // nothing pending
			t.Fatal(err)
		}
		few := []byte("one of a few") // fsynced one by one
		if err := b.PutVerifiedNoSync(shaOf(few), bytes.NewReader(few), 100); err != nil {
			t.Fatal(err)
		}
		if b.Has(shaOf(few)) {
			t.Fatal("visible before Sync")
		}
		if err := b.Sync(); err != nil {
			t.Fatal(err)
		}
		if got, err := b.Get(shaOf(few)); err != nil || !bytes.Equal(got, few) {
			t.Fatalf("after Sync: Get = %q, %v", got, err)
		}
	})
	t.Run("ErrHashMismatch", func(t *testing.T) {
		d := []byte("some content")
		bad := strings.Repeat("cd", 32)
		if err := b.PutVerifiedNoSync(bad, bytes.NewReader(d), 100); !errors.Is(err, release.ErrHashMismatch) {
			t.Fatalf("mismatch: %v, want ErrHashMismatch", err)
		}
		big := bytes.Repeat([]byte("y"), 200)
		if err := b.PutVerifiedNoSync(shaOf(big), bytes.NewReader(big), 100); !errors.Is(err, release.ErrHashMismatch) {
			t.Fatalf("too big: %v, want ErrHashMismatch", err)
		}
		if err := b.Sync(); err != nil {
			t.Fatal(err)
		}
		if b.Has(bad) || b.Has(shaOf(big)) {
			t.Fatal("a refused blob was kept")
		}
	})
	t.Run("ErrInvalidHash", func(t *testing.T) {
		if err := b.PutVerifiedNoSync("../x", bytes.NewReader(nil), 100); !errors.Is(err, release.ErrInvalidHash) {
			t.Fatalf("got %v, want ErrInvalidHash", err)
		}
	})
}

// SetActiveManifest refuses a release with a blob not yet synced, and
// activates it once Sync has run.
func TestStoreSetActiveManifest(t *testing.T) {
	st := openStore(t, t.TempDir())
	page := []byte("<p>page</p>")
	m := &orchard.Manifest{Site: "a.test", Created: time.Unix(1e9, 0).UTC(), Files: map[string]orchard.ManifestEntry{
		"/index.html": {SHA256: shaOf(page), Size: int64(len(page)), ContentType: "text/html"},
	}}
	id, err := st.SaveManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Blobs().PutVerifiedNoSync(shaOf(page), bytes.NewReader(page), 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := st.SetActiveManifest(m, id); !errors.Is(err, release.ErrBlobsMissing) {
		t.Fatalf("before Sync: %v, want ErrBlobsMissing", err)
	}
	if got, _ := st.Active("a.test"); got != "" {
		t.Fatalf("active = %q after a refused activation", got)
	}
	if err := st.SetActiveManifest(m, "0123456789abcdef"); orchard.ErrorCode(err) != orchard.ENOTFOUND {
		t.Fatalf("unknown id: %v, want ENOTFOUND", err)
	}
	if err := st.Blobs().Sync(); err != nil {
		t.Fatal(err)
	}
	if err := st.SetActiveManifest(m, id); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Active("a.test"); got != id {
		t.Fatalf("active = %q, want %q", got, id)
	}
}

func TestStoreLatest(t *testing.T) {
	st := openStore(t, t.TempDir())
	if got, err := st.Latest("a.test"); err != nil || got != "" {
		t.Fatalf("no releases: %q, %v", got, err)
	}
	var want string
	var err error
	for i := range 3 {
		m := &orchard.Manifest{Site: "a.test", Created: time.Unix(int64(1e9+i), 0).UTC(), Files: map[string]orchard.ManifestEntry{
			"/index.html": {SHA256: strings.Repeat(fmt.Sprint(i), 64), Size: 1, ContentType: "text/html"},
		}}
		if want, err = st.SaveManifest(m); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := st.Latest("a.test"); err != nil || got != want {
		t.Fatalf("Latest = %q, %v; want %q", got, err, want)
	}
	if _, err := st.Latest("../x"); orchard.ErrorCode(err) != orchard.EINVALID {
		t.Fatalf("bad site: %v, want EINVALID", err)
	}
}

// MissingOf gives the same answer looking blobs up one by one and listing
// their directories.
func TestBlobsMissingOf(t *testing.T) {
	b := openBlobs(t, t.TempDir())
	var shas, want []string
	for i := range 3000 {
		d := []byte(fmt.Sprint("blob ", i))
		shas = append(shas, shaOf(d))
		switch i % 3 {
		case 0:
			if err := b.PutVerified(shaOf(d), bytes.NewReader(d), 100); err != nil {
				t.Fatal(err)
			}
		case 1:
			want = append(want, shaOf(d))
		case 2: // written but not synced: still missing
			if err := b.PutVerifiedNoSync(shaOf(d), bytes.NewReader(d), 100); err != nil {
				t.Fatal(err)
			}
			want = append(want, shaOf(d))
		}
	}
	shas = append(shas, shas[1], "../etc/passwd")
	want = append(want, "../etc/passwd")
	slices.Sort(want)
	for _, n := range []int{10, 2047, len(shas)} {
		var w []string
		for _, h := range want {
			if slices.Contains(shas[:n], h) {
				w = append(w, h)
			}
		}
		if n == len(shas) {
			w = want
		}
		if got := b.MissingOf(shas[:n]); !slices.Equal(got, w) {
			t.Fatalf("MissingOf(%d blobs): %d missing, want %d", n, len(got), len(w))
		}
	}
}

// A blob removed by GC is not remembered as stored.
func TestBlobsGCForgets(t *testing.T) {
	b := openBlobs(t, t.TempDir())
	d := []byte("collected")
	if err := b.PutVerified(shaOf(d), bytes.NewReader(d), 100); err != nil {
		t.Fatal(err)
	}
	if miss := b.MissingOf([]string{shaOf(d)}); len(miss) != 0 || !b.Has(shaOf(d)) {
		t.Fatalf("stored blob missing: %v", miss)
	}
	b.Grace = 0
	if n, err := b.GC(map[string]bool{}); err != nil || n != 1 {
		t.Fatalf("GC = %d, %v; want 1 removed", n, err)
	}
	if b.Has(shaOf(d)) {
		t.Fatal("Has after GC")
	}
	if miss := b.MissingOf([]string{shaOf(d)}); len(miss) != 1 {
		t.Fatalf("MissingOf after GC = %v", miss)
	}
}

// A pending blob whose temporary file GC removed (a stage never activated)
// does not make later Syncs fail.
func TestBlobsSyncAfterGC(t *testing.T) {
	for _, n := range []int{1, 40} { // one by one, and by syncfs
		b := openBlobs(t, t.TempDir())
		for i := range n {
			d := []byte(fmt.Sprint("abandoned ", i))
			if err := b.PutVerifiedNoSync(shaOf(d), bytes.NewReader(d), 100); err != nil {
				t.Fatal(err)
			}
		}
		b.Grace = 0
		if _, err := b.GC(map[string]bool{}); err != nil {
			t.Fatal(err)
		}
		// The first is sent again by a later stage: written again.
		d := []byte("abandoned 0")
		if err := b.PutVerifiedNoSync(shaOf(d), bytes.NewReader(d), 100); err != nil {
			t.Fatal(err)
		}
		if err := b.Sync(); err != nil {
			t.Fatalf("%d blobs: Sync after GC: %v", n, err)
		}
		if !b.Has(shaOf(d)) {
			t.Fatal("the blob sent again is not stored")
		}
		if n > 1 && b.Has(shaOf([]byte("abandoned 1"))) {
			t.Fatal("a collected blob is stored")
		}
	}
}
