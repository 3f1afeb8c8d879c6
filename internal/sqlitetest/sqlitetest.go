// Package sqlitetest opens throwaway SQLite stores for the tests of the
// store itself and of the packages that use one (admin, xmlio, cmd/orchard).
package sqlitetest

import (
	"path/filepath"
	"testing"

	"github.com/orchardhq/orchard/sqlite"
)

// MustOpen opens an empty store in a temporary directory and closes it
// when the test ends.
func MustOpen(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "orchard.db"))
	if err != nil {
		tb.Fatalf("sqlite.Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}
