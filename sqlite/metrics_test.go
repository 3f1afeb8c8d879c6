package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/orchardhq/orchard/sqlite"
)

// TestSQLDBs: both pools are exposed and their statistics move when the
// store is used.
func TestSQLDBs(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pools := db.SQLDBs()
	if len(pools) != 2 || pools["write"] == nil || pools["read"] == nil {
		t.Fatalf("pools %v", pools)
	}
	if _, err := db.Sites(ctx); err != nil {
		t.Fatal(err)
	}
	if n := pools["read"].Stats().OpenConnections; n < 1 {
		t.Errorf("read pool: %d open connections after a read", n)
	}
	if n := pools["write"].Stats().MaxOpenConnections; n != 1 {
		t.Errorf("write pool: max %d connections, want 1", n)
	}
}
