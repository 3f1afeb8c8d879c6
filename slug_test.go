package orchard

import (
	"strings"
	"testing"
)

func TestSlug(t *testing.T) {
	for _, tc := range []struct{ in, slug, file string }{
		{"My Post!", "my-post", "my-post"},
		{"Don't stop", "dont-stop", "dont-stop"},
		{"caf%C3%A9-au-lait", "caf-au-lait", "caf-au-lait"},
		{"--a--b--", "a-b", "a-b"},
		{"style.css", "style-css", "style.css"},
		{".css", "css", ".css"},
		{"..", "", ""},
		{"!!!", "", ""},
		{"snake_case", "snake_case", "snake_case"},
		{strings.Repeat("ab ", 60), strings.TrimSuffix(strings.Repeat("ab-", 34), "-")[:100], strings.TrimSuffix(strings.Repeat("ab-", 34), "-")[:100]},
	} {
		if got := Slug(tc.in); got != tc.slug {
			t.Errorf("Slug(%q) = %q, want %q", tc.in, got, tc.slug)
		}
		if got := FileSlug(tc.in); got != tc.file {
			t.Errorf("FileSlug(%q) = %q, want %q", tc.in, got, tc.file)
		}
	}
}

func FuzzSlug(f *testing.F) {
	for _, s := range []string{"My Post!", "a.b", "%zz", "..", "x\u2019y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, got := range []string{Slug(s), FileSlug(s)} {
			if got == "" {
				continue
			}
			if len(got) > 100 || strings.HasSuffix(got, "-") || strings.HasPrefix(got, "-") || got == "." || got == ".." {
				t.Fatalf("slug of %q = %q", s, got)
			}
			if _, err := CleanRequestPath("/" + got); err != nil {
				t.Fatalf("slug of %q = %q is no path segment: %v", s, got, err)
			}
		}
	})
}
