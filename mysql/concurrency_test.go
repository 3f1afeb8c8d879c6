package mysql_test

import (
	"sync"
	"testing"

	orchard "github.com/orchardhq/orchard"
)

// Racing creates of one site: exactly one wins, the others get ECONFLICT,
// and the winner's tables are intact (no loser dropped them).
func TestConcurrentCreateSite(t *testing.T) {
	db, _, _ := MustOpenDB(t, false)
	ctx := t.Context()
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = db.CreateSite(ctx, &orchard.Site{Host: "race.example"})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch orchard.ErrorCode(err) {
		case "":
			ok++
		case orchard.ECONFLICT:
		default:
			t.Errorf("CreateSite: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d creates succeeded, want 1", ok)
	}
	if err := db.PutPage(ctx, "race.example", &orchard.Page{Path: "/x/", Title: "X"}); err != nil {
		t.Fatalf("the winner's tables: %v", err)
	}
}

// Concurrent page writes and reads through the replicas all succeed and
// every reader sees its own writer's last write.
func TestConcurrentWrites(t *testing.T) {
	db, _, _ := MustOpenDB(t, true)
	ctx := t.Context()
	if err := db.CreateSite(ctx, &orchard.Site{Host: "example.com"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			path := "/w" + string(rune('a'+w)) + "/"
			for i := range 15 {
				body := string(rune('a' + i))
				if err := db.PutPage(ctx, "example.com", &orchard.Page{Path: path, Title: "W", Body: body}); err != nil {
					t.Error(err)
					return
				}
				p, err := db.Page(ctx, "example.com", path)
				if err != nil || p.Body != body {
					t.Errorf("writer %d read %v %v after writing %q", w, p, err, body)
					return
				}
			}
		})
	}
	wg.Wait()
}
