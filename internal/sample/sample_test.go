package sample_test

import (
	"testing"

	"github.com/orchardhq/orchard/internal/sample"
)

func TestSitesValidate(t *testing.T) {
	for _, c := range sample.Sites() {
		if err := c.Site.Validate(); err != nil {
			t.Fatalf("site %s: %v", c.Site.Host, err)
		}
		cats := map[string]bool{}
		for i := range c.Categories {
			if err := c.Categories[i].Validate(); err != nil {
				t.Errorf("%s category %s: %v", c.Site.Host, c.Categories[i].Path, err)
			}
			cats[c.Categories[i].Path] = true
		}
		paths := map[string]bool{}
		for i := range c.Pages {
			p := &c.Pages[i]
			if err := p.Validate(); err != nil {
				t.Errorf("%s page %s: %v", c.Site.Host, p.Path, err)
			}
			if p.Category != "" && !cats[p.Category] {
				t.Errorf("%s page %s: unknown category %s", c.Site.Host, p.Path, p.Category)
			}
			if paths[p.Path] {
				t.Errorf("%s page %s twice", c.Site.Host, p.Path)
			}
			paths[p.Path] = true
		}
		if len(c.Pages) < 24 {
			t.Errorf("%s has %d pages, want a few dozen", c.Site.Host, len(c.Pages))
		}
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{"Cox's Orange Pippin": "coxs-orange-pippin", "Doyenné du Comice": "doyenne-du-comice", "Note 1: SD cards": "note-1-sd-cards", "  x  ": "x"} {
		if got := sample.Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}
