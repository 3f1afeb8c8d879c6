package node_test

import (
	"maps"
	"testing"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/node"
)

// smallText is a 34-byte file.
const smallText = "thirty-four bytes of plain text.\r\n"

// withSize returns a copy of m whose entry for key claims size bytes (a
// correctly formed manifest, as someone with the cluster secret could
// sign).
func withSize(m *orchard.Manifest, key string, size int64) *orchard.Manifest {
	c := *m
	c.Files = maps.Clone(m.Files)
	e := c.Files[key]
	e.Size = size
	c.Files[key] = e
	return &c
}

// wantSmall fails the test unless host serves /small.txt whole.
func wantSmall(t *testing.T, n *node.Node, host string) {
	t.Helper()
	resp, body := get(t, n.Addr(), host, "/small.txt")
	if resp.StatusCode != 200 || string(body) != smallText || resp.ContentLength != int64(len(smallText)) {
		t.Fatalf("%s/small.txt: %d, Content-Length %d, body %q; want 200 and the %d bytes",
			host, resp.StatusCode, resp.ContentLength, body, len(smallText))
	}
}

// TestActivate_SizeClaims activates manifests whose entry for a 34-byte
// blob claims 2^62 bytes (the node used to drop the connection) or 5
// bytes (it used to serve a truncated body): both are refused with
// EINVALID, and the site keeps serving its release whole. A claim made
// for one site never changes what another site serves from the same blob.
func TestActivate_SizeClaims(t *testing.T) {
	if len(smallText) != 34 {
		t.Fatalf("smallText has %d bytes", len(smallText))
	}
	n := mustOpenNode(t, t.TempDir())
	fs := siteFiles()
	fs["/small.txt"] = [2]string{"text/plain; charset=utf-8", smallText}

	// Site b claims 5 bytes for the shared blob before site a, with the
	// true size, is activated.
	b := build(t, n.Store(), orchard.Site{Host: "b.test"}, fs)
	if err := activate(n, withSize(b, "/small.txt", 5)); orchard.ErrorCode(err) != orchard.EINVALID {
		t.Fatalf("Activate(b.test claiming 5 bytes) = %v, want EINVALID", err)
	}
	a := build(t, n.Store(), testSite, fs)
	if err := activate(n, a); err != nil {
		t.Fatal(err)
	}
	wantSmall(t, n, "a.test")

	for _, tc := range []struct {
		name string
		size int64
	}{{"Huge", 1 << 62}, {"Short", 5}, {"OneMore", 35}} {
		t.Run(tc.name, func(t *testing.T) {
			err := activate(n, withSize(a, "/small.txt", tc.size))
			if orchard.ErrorCode(err) != orchard.EINVALID {
				t.Fatalf("Activate(claiming %d bytes) = %v, want EINVALID", tc.size, err)
			}
			if got := n.Releases()["a.test"]; got != a.ID() {
				t.Fatalf("active release %s after the refusal, want %s", got, a.ID())
			}
			wantSmall(t, n, "a.test")
		})
	}
	t.Run("GzipSize", func(t *testing.T) {
		e := a.Files["/index.html"]
		if e.Gzip == "" {
			t.Fatal("/index.html has no gzip variant")
		}
		c := withSize(a, "/index.html", e.Size)
		e.GzipSize++
		c.Files["/index.html"] = e
		if err := activate(n, c); orchard.ErrorCode(err) != orchard.EINVALID {
			t.Fatalf("Activate(gzip size off by one) = %v, want EINVALID", err)
		}
	})
}
