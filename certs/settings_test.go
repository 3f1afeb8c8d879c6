package certs_test

import (
	"path/filepath"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/certs"
)

// TestSettingsFile: one site's settings change and every other site's
// stay; an invalid change is refused and saves nothing.
func TestSettingsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "https.json")
	other := orchard.HTTPSSettings{CertFile: "/w.pem", KeyFile: "/w.key"}
	if err := certs.SaveSettings(path, map[string]orchard.HTTPSSettings{"b.example": other}); err != nil {
		t.Fatal(err)
	}
	f := &certs.SettingsFile{Path: path}
	if s, err := f.Get("a.example"); err != nil || s != (orchard.HTTPSSettings{}) {
		t.Fatalf("Get of a site without settings = %+v, %v; want the defaults", s, err)
	}
	want := orchard.HTTPSSettings{Redirect: true, HSTSSeconds: 60}
	if err := f.Set("a.example", want); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("a.example", orchard.HTTPSSettings{HSTSSeconds: -1}); orchard.ErrorCode(err) != orchard.EINVALID {
		t.Errorf("Set of a negative max-age: %v, want EINVALID", err)
	}
	all, err := certs.LoadSettings(path)
	if err != nil {
		t.Fatal(err)
	}
	if all["a.example"] != want || all["b.example"] != other || len(all) != 2 {
		t.Errorf("file holds %+v", all)
	}
}
