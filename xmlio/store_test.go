package xmlio_test

import (
	"bytes"
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/internal/sqlitetest"
	"github.com/orchardhq/orchard/xmlio"
)

// opener opens a fresh, empty store that is closed when the test ends.
type opener func(t *testing.T) orchard.Store

func openSQLite(t *testing.T) orchard.Store { return sqlitetest.MustOpen(t) }

// exportStore exports host from st.
func exportStore(t *testing.T, st orchard.Store, host string, secrets bool) []byte {
	t.Helper()
	c, err := st.LoadSite(t.Context(), host)
	if err != nil {
		t.Fatalf("LoadSite(%s): %v", host, err)
	}
	return export(t, c, xmlio.ExportOptions{WithSecrets: secrets})
}

// importStore decodes data into st.
func importStore(t *testing.T, st orchard.Store, data []byte, replace bool) error {
	t.Helper()
	c, err := xmlio.Decode(t.Context(), bytes.NewReader(data), xmlio.Limits{}, nil)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return st.ReplaceSite(t.Context(), c, replace)
}

// storeFixture is fixture without its invalid UTF-8, which the format
// carries but a MySQL store (utf8mb4) refuses.
func storeFixture() *orchard.SiteContent {
	c := fixture()
	for i := range c.Pages {
		c.Pages[i].Body = strings.ToValidUTF8(c.Pages[i].Body, "?")
	}
	return c
}

// testStoreRoundTrip exports each site from a store of kind from, imports
// it into a fresh store of kind to and exports it again: the files must be
// identical.
func testStoreRoundTrip(t *testing.T, from, to opener) {
	sites := append([]*orchard.SiteContent{storeFixture()}, sample.Sites()...)
	src := from(t)
	for _, c := range sites {
		if err := src.ReplaceSite(t.Context(), c, false); err != nil {
			t.Fatalf("seed %s: %v", c.Site.Host, err)
		}
	}
	dst := to(t)
	for _, c := range sites {
		host := c.Site.Host
		t.Run(host, func(t *testing.T) {
			for _, secrets := range []bool{true, false} {
				first := exportStore(t, src, host, secrets)
				if err := importStore(t, dst, first, !secrets); err != nil {
					t.Fatalf("import: %v", err)
				}
				if second := exportStore(t, dst, host, secrets); !bytes.Equal(first, second) {
					t.Errorf("secrets=%v: export -> import -> export differs:\n%s", secrets, firstDiff(second, first))
				}
			}
		})
	}
}

// testStoreImportFails checks that a refused import changes nothing: a
// decoding error never reaches the store, and a store error (an existing
// site without replace) leaves the site as it was.
func testStoreImportFails(t *testing.T, open opener) {
	st := open(t)
	c := storeFixture()
	if err := st.ReplaceSite(t.Context(), c, false); err != nil {
		t.Fatal(err)
	}
	before := exportStore(t, st, c.Site.Host, true)

	changed := storeFixture()
	changed.Pages[0].Body = "changed"
	data := export(t, changed, xmlio.ExportOptions{WithSecrets: true})
	err := importStore(t, st, data, false)
	if orchard.ErrorCode(err) != orchard.ECONFLICT {
		t.Errorf("import over an existing site without replace = %v, want ECONFLICT", err)
	}
	if after := exportStore(t, st, c.Site.Host, true); !bytes.Equal(before, after) {
		t.Errorf("a refused import changed the site:\n%s", firstDiff(after, before))
	}

	// Replace works, and replaces everything: a page left out is gone.
	changed.Pages = changed.Pages[:1]
	data = export(t, changed, xmlio.ExportOptions{WithSecrets: true})
	if err := importStore(t, st, data, true); err != nil {
		t.Fatalf("import with replace: %v", err)
	}
	got, err := st.LoadSite(t.Context(), c.Site.Host)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Pages) != 1 || got.Pages[0].Body != "changed" {
		t.Errorf("after replace: %d pages, first body %q; want 1 page with body %q", len(got.Pages), got.Pages[0].Body, "changed")
	}
}

func TestSQLiteRoundTrip(t *testing.T)   { testStoreRoundTrip(t, openSQLite, openSQLite) }
func TestSQLiteImportFails(t *testing.T) { testStoreImportFails(t, openSQLite) }
