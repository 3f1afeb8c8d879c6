package sqlite_test

import (
	"context"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlitetest"
	"github.com/orchardhq/orchard/internal/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) orchard.Store { return sqlitetest.MustOpen(t) })
}

// FuzzRead sends arbitrary hosts and paths, as a Host header and a request
// path would bring them, to the reads: the answer is the item or ENOTFOUND,
// never an internal error and never another site's content.
func FuzzRead(f *testing.F) {
	db := sqlitetest.MustOpen(f)
	ctx := context.Background()
	if err := db.ReplaceSite(ctx, &orchard.SiteContent{
		Site:  orchard.Site{Host: "example.com", Aliases: []string{"www.example.com"}},
		Pages: []orchard.Page{{Path: "/", Title: "Home"}, {Path: "/a/", Title: "A"}},
	}, false); err != nil {
		f.Fatal(err)
	}
	for _, s := range [][2]string{{"example.com", "/"}, {"WWW.example.com:80", "/a/"}, {"../etc", "/../"},
		{"example.com", "/a/'; DROP TABLE x;--"}, {"a\x00b", "\x00"}, {"s_example_com_pages", "/"}, {"", ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, host, path string) {
		for what, err := range map[string]error{
			"Page":       func() error { _, err := db.Page(ctx, host, path); return err }(),
			"Category":   func() error { _, err := db.Category(ctx, host, path); return err }(),
			"Asset":      func() error { _, err := db.Asset(ctx, host, path); return err }(),
			"Template":   func() error { _, err := db.Template(ctx, host, path); return err }(),
			"LookupHost": func() error { _, err := db.LookupHost(ctx, host); return err }(),
			"User":       func() error { _, err := db.User(ctx, host, path); return err }(),
		} {
			if c := orchard.ErrorCode(err); c != "" && c != orchard.ENOTFOUND {
				t.Fatalf("%s(%q, %q): %v", what, host, path, err)
			}
		}
	})
}
