package orchard_test

import (
	"testing"

	orchard "github.com/orchardhq/orchard"
)

func TestValidateRefusesInvalidUTF8(t *testing.T) {
	bad := "caf\xe9"
	checks := map[string]error{
		"page body":      (&orchard.Page{Path: "/a/", Title: "A", Body: bad}).Validate(),
		"page title":     (&orchard.Page{Path: "/a/", Title: bad}).Validate(),
		"category title": (&orchard.Category{Path: "/a/", Title: bad}).Validate(),
		"template":       (&orchard.Template{Name: "layouts/x.html", Body: bad}).Validate(),
		"site title":     (&orchard.Site{Host: "a.test", Title: bad}).Validate(),
	}
	for what, err := range checks {
		if orchard.ErrorCode(err) != orchard.EINVALID {
			t.Errorf("%s with invalid UTF-8: err = %v, want EINVALID", what, err)
		}
	}
	if err := (&orchard.Page{Path: "/a/", Title: "Café", Body: "NUL \x00 is UTF-8"}).Validate(); err != nil {
		t.Errorf("valid page refused: %v", err)
	}
}
