package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
)

// Opener opens a fresh, empty store for one test. The suite closes it.
type Opener func(t *testing.T) orchard.Store

// Run runs the whole conformance suite against stores made by open.
func Run(t *testing.T, open Opener) {
	for _, part := range []struct {
		name string
		test func(*testing.T, Opener)
	}{
		{"Site", testSite},
		{"Prefix", testPrefix},
		{"Category", testCategory},
		{"Page", testPage},
		{"Asset", testAsset},
		{"Template", testTemplate},
		{"User", testUser},
		{"LoadSite", testLoadSite},
		{"ReplaceSite", testReplaceSite},
		{"Index", testIndex},
		{"SiteVersion", testSiteVersion},
		{"Hostile", testHostile},
		{"Redirects", testRedirects},
		{"SitesMatching", testSitesMatching},
	} {
		t.Run(part.name, func(t *testing.T) { part.test(t, open) })
	}
}

// mustOpen opens a store and closes it when the test ends.
func mustOpen(t *testing.T, open Opener) orchard.Store {
	t.Helper()
	s := open(t)
	if s == nil {
		t.Fatal("open returned a nil store")
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// mustOpenSite opens a store with one site, host, and returns it with the
// test's context.
func mustOpenSite(t *testing.T, open Opener, host string) (orchard.Store, context.Context) {
	t.Helper()
	s := mustOpen(t, open)
	mustCreateSite(t, s, host)
	return s, t.Context()
}

// mustCreateSite creates a site with the given aliases.
func mustCreateSite(t *testing.T, s orchard.Store, host string, aliases ...string) *orchard.Site {
	t.Helper()
	site := &orchard.Site{Host: host, Aliases: aliases, Title: "Site"}
	if err := s.CreateSite(t.Context(), site); err != nil {
		t.Fatalf("CreateSite(%q): %v", host, err)
	}
	return site
}

func mustPutCategory(t *testing.T, s orchard.Store, host, path string) *orchard.Category {
	t.Helper()
	c := &orchard.Category{Path: path, Title: "Category " + path}
	if err := s.PutCategory(t.Context(), host, c); err != nil {
		t.Fatalf("PutCategory(%q, %q): %v", host, path, err)
	}
	return c
}

func mustPutPage(t *testing.T, s orchard.Store, host string, p *orchard.Page) {
	t.Helper()
	if err := s.PutPage(t.Context(), host, p); err != nil {
		t.Fatalf("PutPage(%q, %q): %v", host, p.Path, err)
	}
}

// wantCode fails unless err carries the orchard error code want.
func wantCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := orchard.ErrorCode(err); got != want {
		t.Errorf("%s: error code %q (%v), want %q", what, got, err, want)
		return
	}
	var e *orchard.Error
	if want != "" && (!errors.As(err, &e) || e.Message == "") {
		t.Errorf("%s: want an *orchard.Error with a message, got %v", what, err)
	}
}

// wantOK fails the test now when err is not nil.
func wantOK(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// invalid is a named value a store must refuse.
type invalid[T any] struct {
	name string
	v    T
}

// wantInvalid runs put on a copy of each case, in a subtest named after it,
// and wants EINVALID.
func wantInvalid[T any](t *testing.T, what string, put func(*T) error, cases []invalid[T]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.v
			wantCode(t, what, put(&v), orchard.EINVALID)
		})
	}
}

// wantNone fails unless a list was read (err nil) and is empty.
func wantNone[T any](t *testing.T, what string, list []T, err error) {
	t.Helper()
	wantOK(t, what, err)
	if len(list) != 0 {
		t.Errorf("%s: got %d, want none: %s", what, len(list), strings.Join(keys(list, func(x T) string { return show(x) }), "; "))
	}
}

// same compares two values by their %+v form, which spells out every field
// (times included), and reports both when they differ.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	g, w := show(got), show(want)
	if g != w {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func show(v any) string {
	// Pointers print as addresses; print what they point to instead.
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		v = rv.Elem().Interface()
	}
	return fmt.Sprintf("%+v", v)
}

// wantUTC fails unless tm is set and in UTC.
func wantUTC(t *testing.T, what string, tm time.Time) {
	t.Helper()
	if tm.IsZero() {
		t.Errorf("%s is zero, want the time of the write", what)
	} else if tm.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", what, tm.Location())
	}
}

// at returns a fixed UTC time with microseconds, n hours after a base.
func at(n int) time.Time {
	return time.Date(2026, 3, 1, 9, 30, 15, 123456000, time.UTC).Add(time.Duration(n) * time.Hour)
}

// keys returns the keys of a list for ordering checks.
func keys[T any](xs []T, key func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = key(x)
	}
	return out
}

func wantKeys(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}
