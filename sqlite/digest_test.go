package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/orchardhq/orchard/internal/storetest"
)

// TestUnknownDigest checks that a page row without a digest still reads
// with the right one (storetest.CheckUnknownDigest). Digests of pages made
// before the digest column are TestUpgradeLegacyTables' (its schema 1
// site).
func TestUnknownDigest(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "orchard.db"))
	storetest.CheckUnknownDigest(t, db, func(ctx context.Context) error {
		_, err := db.write.ExecContext(ctx, `UPDATE orchard_pages SET digest = ''`)
		return err
	})
}
