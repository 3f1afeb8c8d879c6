package publish_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/publish"
	"github.com/orchardhq/orchard/release"
)

// signedType sends one signed request with a Content-Type ("" for none).
func signedType(t *testing.T, method, url, contentType string, body []byte, secret []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	publish.Sign(req, secret, "node0", body) // every test node these helpers address is node0
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestNodeStageEncodings checks that a node takes a manifest as JSON or in
// the binary encoding, chosen by Content-Type, with the same answer, and
// refuses bad binary manifests and mismatched types with 400, 401 and 413
// like JSON ones, storing nothing.
func TestNodeStageEncodings(t *testing.T) {
	master := newMemBlobs()
	n := startNode(t, "node0", "")
	m := makeRelease(master, "a.test", 3, "v1")
	js, _ := json.Marshal(m)
	bin, id, err := release.EncodeManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	other := makeRelease(master, "b.test", 1, "v1")
	otherBin, _, _ := release.EncodeManifest(other)
	tampered := append([]byte{}, bin...)
	tampered[len(tampered)/2] ^= 1
	// A `..` path with a valid checksum: EncodeManifest would refuse it.
	dotdot := []byte("OMF\x01\x06a.test\x00\x00\x00\x00\x01\x03a/b\x01\x00\x08/../etc\x00")
	dotdot = append(dotdot, make([]byte, 32)...)
	dotdot = append(dotdot, 1, 0)
	dotdot = binary.LittleEndian.AppendUint32(dotdot, crc32.Checksum(dotdot, crc32.MakeTable(crc32.Castagnoli)))
	url := n.srv.URL + "/_orchard/v1/releases/a.test"

	for _, tt := range []struct {
		name, typ string
		body      []byte
		secret    []byte
		want      int
	}{
		{"JSON", "application/json", js, testSecret, 200},
		{"Binary", release.ManifestContentType, bin, testSecret, 200},
		{"BinaryWithParams", release.ManifestContentType + "; v=1", bin, testSecret, 200},
		{"BinaryWrongSecret", release.ManifestContentType, bin, []byte("not-the-secret-not-the-secret-xx"), 401},
		{"BinaryAsJSON", "application/json", bin, testSecret, 400},
		{"JSONAsBinary", release.ManifestContentType, js, testSecret, 400},
		{"BinaryTampered", release.ManifestContentType, tampered, testSecret, 400},
		{"BinaryDotDot", release.ManifestContentType, dotdot, testSecret, 400},
		{"BinaryOtherSite", release.ManifestContentType, otherBin, testSecret, 400},
		{"BinaryTruncated", release.ManifestContentType, bin[:10], testSecret, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := signedType(t, "POST", url, tt.typ, tt.body, tt.secret)
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, b)
			}
			if tt.want != 200 {
				return
			}
			var ans publish.StageAnswer
			if err := json.Unmarshal(b, &ans); err != nil {
				t.Fatal(err)
			}
			if ans.ID != id || len(ans.Missing) != 7 {
				t.Fatalf("answer %+v, want id %s and 7 missing", ans, id)
			}
		})
	}
	n.wantNothingKept(t, "after staging")
}

// TestNodeStageBinaryTooLarge checks the manifest size limit holds for the
// binary encoding too.
func TestNodeStageBinaryTooLarge(t *testing.T) {
	n := startNode(t, "node0", "")
	body := append([]byte("OMF\x01"), make([]byte, 1<<20+1)...)
	resp := signedType(t, "POST", n.srv.URL+"/_orchard/v1/releases/a.test", release.ManifestContentType, body, testSecret)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
}

// TestPublishEncoded publishes a release from its stored binary encoding,
// and refuses an id or body that is not one.
func TestPublishEncoded(t *testing.T) {
	master, cat := newMemBlobs(), newMemCatalog()
	nodes := []*testNode{startNode(t, "node0", ""), startNode(t, "node1", "")}
	p := newPublisher(master, cat, nodes...)
	ctx := context.Background()
	m := makeRelease(master, "a.test", 20, "v1")
	enc, id, err := release.EncodeManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		id   string
		body []byte
	}{"BadID": {"nope", enc}, "JSONBody": {id, []byte(`{"site":"a.test"}`)}} {
		if _, err := p.PublishEncoded(ctx, "a.test", m, tt.id, tt.body, nil); err == nil {
			t.Errorf("%s: published", name)
		}
	}
	if _, err := p.PublishEncoded(ctx, "b.test", m, id, enc, nil); err == nil {
		t.Error("published a manifest for another site")
	}
	res, err := p.PublishEncoded(ctx, "a.test", m, id, enc, nil)
	if err != nil || !res.OK() || res.Release != id {
		t.Fatalf("publish: %v %+v", err, res)
	}
	for i, n := range nodes {
		if got := n.state.Releases()["a.test"]; got != id {
			t.Errorf("node%d active = %q, want %q", i, got, id)
		}
	}
	// A body that does not match the id: the nodes answer the id they
	// computed, and nothing is activated.
	m2 := makeRelease(master, "a.test", 20, "v2")
	enc2, _, _ := release.EncodeManifest(m2)
	res, err = p.PublishEncoded(ctx, "a.test", m2, id, enc2, nil)
	if err == nil && res.OK() {
		t.Fatalf("published a body under another id: %+v", res)
	}
	for i, n := range nodes {
		if got := n.state.Releases()["a.test"]; got != id {
			t.Errorf("node%d active = %q, want %q", i, got, id)
		}
	}
}

// TestStageSkipsTheActiveReleasesBlobs checks that staging a release on top
// of the one a node activated asks only for the blobs of the files that
// changed, that activation still checks every blob (a blob lost meanwhile
// makes it refuse, nothing half-activated), and that the next publish
// looks every blob up again and completes.
func TestStageSkipsTheActiveReleasesBlobs(t *testing.T) {
	master, cat := newMemBlobs(), newMemCatalog()
	n := startNode(t, "node0", "")
	p := newPublisher(master, cat, n)
	ctx := context.Background()
	m1 := makeRelease(master, "a.test", 10, "v1")
	if res, err := p.Publish(ctx, "a.test", m1, nil); err != nil || !res.OK() {
		t.Fatalf("publish: %v %+v", err, res)
	}
	change := func(m *orchard.Manifest, page int, body string) *orchard.Manifest {
		out := &orchard.Manifest{Site: m.Site, Created: m.Created, Files: maps.Clone(m.Files)}
		k := fmt.Sprintf("/p%d/index.html", page)
		e := out.Files[k]
		e.SHA256, e.Size, e.Gzip, e.GzipSize = master.put([]byte(body)), int64(len(body)), "", 0
		out.Files[k] = e
		return out
	}
	m2 := change(m1, 1, "<html>changed</html>")
	res, err := p.Publish(ctx, "a.test", m2, nil)
	if err != nil || !res.OK() || res.Nodes[0].Missing != 1 {
		t.Fatalf("publish of one change: %v %+v", err, res)
	}

	// A blob of the active release disappears from the node.
	lost := m2.Files["/p3/index.html"].SHA256
	n.blobs.mu.Lock()
	delete(n.blobs.m, lost)
	n.blobs.mu.Unlock()
	m3 := change(m2, 2, "<html>changed again</html>")
	res, err = p.Publish(ctx, "a.test", m3, nil)
	if err == nil && res.OK() {
		t.Fatalf("activated a release with a lost blob: %+v", res)
	}
	if got := n.state.Releases()["a.test"]; got != m2.ID() {
		t.Fatalf("active = %s, want %s still", got, m2.ID())
	}
	res, err = p.Publish(ctx, "a.test", m3, nil)
	if err != nil || !res.OK() || res.Nodes[0].Missing != 1 {
		t.Fatalf("publish after the failed one: %v %+v", err, res)
	}
	if !n.blobs.Has(lost) || n.state.Releases()["a.test"] != m3.ID() {
		t.Fatal("the lost blob was not sent again")
	}
}

// TestPublishToJSONOnlyNode publishes to a node that refuses the binary
// manifest as an older version does: it is sent JSON and activates.
func TestPublishToJSONOnlyNode(t *testing.T) {
	master, cat := newMemBlobs(), newMemCatalog()
	n := startNode(t, "node0", "")
	var binaryRefused int
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") == release.ManifestContentType {
			binaryRefused++
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"invalid request: manifest is not valid JSON"}`)
			return
		}
		n.node.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(old.Close)
	p := newPublisher(master, cat)
	p.Nodes = []publish.Target{{Name: "node0", ControlAddr: strings.TrimPrefix(old.URL, "http://")}}
	m := makeRelease(master, "a.test", 5, "v1")
	res, err := p.Publish(context.Background(), "a.test", m, nil)
	if err != nil || !res.OK() {
		t.Fatalf("publish: %v %+v", err, res)
	}
	if binaryRefused != 1 || n.state.Releases()["a.test"] != m.ID() {
		t.Fatalf("binary refused %d times, active %q", binaryRefused, n.state.Releases()["a.test"])
	}
}
