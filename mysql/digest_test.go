package mysql_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/orchardhq/orchard/internal/storetest"
)

// TestUnknownDigest checks that a page row without a digest still reads
// with the right one (storetest.CheckUnknownDigest). Pages made before the
// digest column are TestUpgradeLegacyTables' (its Schema3 case).
func TestUnknownDigest(t *testing.T) {
	db, c, name := MustOpenDB(t, false)
	raw, err := sql.Open("mysql", c.Primary().DSN("root", "", name))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	storetest.CheckUnknownDigest(t, db, func(ctx context.Context) error {
		_, err := raw.ExecContext(ctx, "UPDATE orchard_pages SET digest = ''")
		return err
	})
}
