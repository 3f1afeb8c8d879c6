package publish_test

import (
	"context"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orchardhq/orchard/publish"
	"github.com/orchardhq/orchard/release"
)

// With release.Blobs (which writes batches without fsync), a tampered batch
// is refused and no blob of a batch counts as stored before the activation
// has synced them; a publish then activates with every blob in place.
func TestPublishDiskBlobs(t *testing.T) {
	dir := t.TempDir()
	b, err := release.OpenBlobs(dir)
	if err != nil {
		t.Fatal(err)
	}
	st := newMemState(b)
	n := publish.NewNode(publish.NodeConfig{Name: "node0", Secret: testSecret, Blobs: b, State: st, MaxBatchBytes: 1 << 20})
	srv := httptest.NewServer(n.Handler())
	t.Cleanup(srv.Close)

	master := newMemBlobs()
	good := []byte("good blob")
	goodSHA := master.put(good)
	tampered := master.put([]byte("hello"))
	batch := []byte(goodSHA + " 9\ngood blob" + tampered + " 5\nhellO")
	if resp := signed(t, "POST", srv.URL+"/_orchard/v1/blobs", batch, testSecret); resp.StatusCode != 422 {
		t.Fatalf("tampered batch: status %d, want 422", resp.StatusCode)
	}
	if resp := signed(t, "POST", srv.URL+"/_orchard/v1/blobs", []byte(goodSHA+" 9\ngood blob"), testSecret); resp.StatusCode != 204 {
		t.Fatalf("good batch: status %d, want 204", resp.StatusCode)
	}
	if b.Has(goodSHA) || b.Has(tampered) {
		t.Fatal("a batch blob counts as stored before any activation synced it")
	}

	m := makeRelease(master, "a.test", 200, "v1")
	p := &publish.Publisher{Secret: testSecret, Blobs: master, BatchBytes: 16 << 10,
		Nodes: []publish.Target{{Name: "node0", ControlAddr: strings.TrimPrefix(srv.URL, "http://")}}}
	res, err := p.Publish(context.Background(), "a.test", m, nil)
	if err != nil || !res.OK() {
		t.Fatalf("publish: %v, %+v", err, res)
	}
	if got := st.Releases()["a.test"]; got != m.ID() {
		t.Fatalf("active %q, want %q", got, m.ID())
	}
	if miss := b.Missing(m); len(miss) > 0 {
		t.Fatalf("%d blobs missing after activation", len(miss))
	}
	if b.Has(tampered) {
		t.Fatal("the tampered blob was kept")
	}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			if data, _ := os.ReadFile(path); string(data) != "good blob" {
				t.Errorf("temporary file %s left: %q", path, data)
			}
		}
		return nil
	})
}
