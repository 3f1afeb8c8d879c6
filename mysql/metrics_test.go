package mysql_test

import (
	"testing"
)

// TestSQLDBs: the primary's pool and one per replica are exposed, and
// their statistics show the connections the store opened.
func TestSQLDBs(t *testing.T) {
	db, c, _ := MustOpenDB(t, true)
	pools := db.SQLDBs()
	if len(pools) != 1+len(c.Replicas()) || pools["primary"] == nil {
		t.Fatalf("pools %v, want the primary and %d replicas", pools, len(c.Replicas()))
	}
	if _, err := db.Sites(t.Context()); err != nil {
		t.Fatal(err)
	}
	for name, p := range pools {
		if p == nil {
			t.Fatalf("pool %s is nil", name)
		}
		if st := p.Stats(); st.OpenConnections < 1 {
			t.Errorf("pool %s: %d open connections after Open (it pings every server)", name, st.OpenConnections)
		}
	}
}
