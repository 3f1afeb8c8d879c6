package storetest

import (
	"fmt"
	"slices"
	"testing"

	orchard "github.com/orchardhq/orchard"
)

// testSitesMatching checks SitesMatching against HostPattern.MatchSite:
// hosts and aliases, "-" against ".", classes and escapes the engines'
// GLOB and LIKE do not have, LIKE's wildcards as plain bytes, and more candidates than are read one by one.
func testSitesMatching(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	ctx := t.Context()
	mustCreateSite(t, s, "blog.example.com", "www.blog.test")
	mustCreateSite(t, s, "blog-example.com")
	mustCreateSite(t, s, "shop1.test")
	mustCreateSite(t, s, "shop-2.test")
	mustCreateSite(t, s, "shopx3.test")
	var many []string
	for i := range 70 {
		h := fmt.Sprintf("m%02d.many.test", i)
		mustCreateSite(t, s, h)
		many = append(many, h)
	}
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{"*.example.com", []string{"blog.example.com"}},
		{"blog?example.com", []string{"blog-example.com", "blog.example.com"}},
		{"BLOG.Example.com", []string{"blog.example.com"}},
		{"www.*", []string{"blog.example.com"}},
		{"shop[0-9].test", []string{"shop1.test"}},
		{"shop[^0-9]*.test", []string{"shop-2.test", "shopx3.test"}},
		{"shop\\1.test", []string{"shop1.test"}},
		{"shop_*", nil}, // LIKE's "_" and "%" are plain bytes in a pattern
		{"shop%*", nil},
		{"none.invalid", nil},
		{"m*.many.test", many},
		{"m0?.many.test", many[:10]},
	} {
		p, err := orchard.ParseHostPattern(tc.pattern)
		if err != nil {
			t.Fatalf("ParseHostPattern(%q): %v", tc.pattern, err)
		}
		got, err := s.SitesMatching(ctx, p)
		wantOK(t, "SitesMatching("+tc.pattern+")", err)
		var hosts []string
		for _, site := range got {
			hosts = append(hosts, site.Host)
		}
		if !slices.Equal(hosts, tc.want) {
			t.Errorf("SitesMatching(%q) = %q, want %q", tc.pattern, hosts, tc.want)
		}
	}
	all, err := s.SitesMatching(ctx, orchard.HostPattern{})
	wantOK(t, "SitesMatching(every site)", err)
	if len(all) != 75 || all[0].Host != "blog-example.com" || len(all[1].Aliases) != 1 {
		t.Errorf("SitesMatching(every site): %d sites, first %q, second's aliases %q", len(all), all[0].Host, all[1].Aliases)
	}
}
