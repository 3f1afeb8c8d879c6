package master_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/master"
)

// countingStore is a real store that counts the handler's reads of content.
type countingStore struct {
	orchard.Store
	indexes, bodies atomic.Int64
}

func (s *countingStore) LoadSiteIndex(ctx context.Context, host string) (*orchard.SiteContent, error) {
	s.indexes.Add(1)
	return s.Store.LoadSiteIndex(ctx, host)
}

func (s *countingStore) PageBodies(ctx context.Context, host string, paths []string) (map[string]orchard.PageBody, error) {
	s.bodies.Add(1)
	return s.Store.PageBodies(ctx, host, paths)
}

// wantCounts fails unless the store's reads are as many as want.
func (s *countingStore) wantCounts(t *testing.T, when string, indexes, bodies int64) {
	t.Helper()
	if got := s.indexes.Load(); got != indexes {
		t.Errorf("%s: %d index reads, want %d", when, got, indexes)
	}
	if got := s.bodies.Load(); got != bodies {
		t.Errorf("%s: %d page body reads, want %d", when, got, bodies)
	}
}

// TestUnchangedContentIsReused checks that the site is read once while its
// content does not change, and that after an edit of one page the other
// pages are served from what was rendered before (no body read) while the
// edited page is rendered again.
func TestUnchangedContentIsReused(t *testing.T) {
	db := &countingStore{Store: MustOpenStore(t)}
	h := master.NewSiteHandler(db, nil)
	ctx := t.Context()
	host := sample.AlphaHost
	for range 20 {
		for _, p := range []string{"/about/", "/contact/"} {
			if resp := get(t, h, "GET", host, p); resp.StatusCode != 200 {
				t.Fatalf("%s: status %d", p, resp.StatusCode)
			}
		}
	}
	db.wantCounts(t, "20 requests of two pages", 1, 2)

	p, err := db.Page(ctx, host, "/about/")
	if err != nil {
		t.Fatal(err)
	}
	p.Body = "Edited."
	if err := db.PutPage(ctx, host, p); err != nil {
		t.Fatal(err)
	}
	if b := body(t, get(t, h, "GET", host, "/contact/")); !strings.Contains(b, "hello@alpha.localhost") {
		t.Errorf("unchanged page not served:\n%.300s", b)
	}
	db.wantCounts(t, "an unchanged page after an edit of another", 2, 2)
	if b := body(t, get(t, h, "GET", host, "/about/")); !strings.Contains(b, "Edited.") {
		t.Errorf("edited page not served:\n%.300s", b)
	}
	db.wantCounts(t, "the edited page", 2, 3)
}

// TestMaxSites checks that no more than MaxSites sites are kept: with one,
// serving two sites in turn reads each again every time.
func TestMaxSites(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxSites int
		indexes  int64
	}{
		{"Default", 0, 2},
		{"One", 1, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := &countingStore{Store: MustOpenStore(t)}
			h := master.NewSiteHandler(db, nil)
			h.MaxSites = tc.maxSites
			for _, host := range []string{sample.AlphaHost, sample.BlogHost, sample.AlphaHost, sample.BlogHost} {
				if resp := get(t, h, "GET", host, "/"); resp.StatusCode != 200 {
					t.Fatalf("%s: status %d", host, resp.StatusCode)
				}
			}
			if got := db.indexes.Load(); got != tc.indexes {
				t.Errorf("%d index reads, want %d", got, tc.indexes)
			}
		})
	}
}
