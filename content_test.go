package orchard_test

import (
	"strings"
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

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		s    string
		max  int
		want bool
	}{
		{"post", 64, true},
		{"Node_1-b", 32, true},
		{"", 64, false},
		{"a.b", 64, false},
		{"a b", 64, false},
		{"é", 64, false},
		{"../x", 64, false},
		{strings.Repeat("a", 32), 32, true},
		{strings.Repeat("a", 33), 32, false},
	} {
		if got := orchard.ValidName(tc.s, tc.max); got != tc.want {
			t.Errorf("ValidName(%q, %d) = %v, want %v", tc.s, tc.max, got, tc.want)
		}
	}
}
