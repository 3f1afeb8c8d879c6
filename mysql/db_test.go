package mysql_test

import (
	"os"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/mariadbtest"
	"github.com/orchardhq/orchard/internal/storetest"
	"github.com/orchardhq/orchard/mysql"
)

// shared is one primary and two replicas, started by the first test that
// needs them and stopped after the last.
var shared = &mariadbtest.Shared{N: 3}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

// MustOpenDB opens a store on a fresh database of the shared cluster, with
// the replicas when withReplicas, and closes it at cleanup.
func MustOpenDB(tb testing.TB, withReplicas bool) (*mysql.DB, *mariadbtest.Cluster, string) {
	tb.Helper()
	c := shared.Get(tb)
	name := c.NewDatabase(tb)
	var replicas []string
	if withReplicas {
		for _, r := range c.Replicas() {
			replicas = append(replicas, r.DSN("root", "", name))
		}
	}
	db, err := mysql.Open(tb.Context(), c.Primary().DSN("root", "", name), replicas,
		mysql.Options{CheckInterval: 100 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, c, name
}

func TestStore(t *testing.T) {
	t.Run("Primary", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) orchard.Store {
			db, _, _ := MustOpenDB(t, false)
			return db
		})
	})
	t.Run("Replicas", func(t *testing.T) {
		var dbs []*mysql.DB
		storetest.Run(t, func(t *testing.T) orchard.Store {
			db, _, _ := MustOpenDB(t, true)
			dbs = append(dbs, db)
			return db
		})
		// The suite's reads must have gone to the replicas at least some
		// of the time, or this run proved nothing about them.
		var replicaReads uint64
		for _, db := range dbs {
			for _, r := range db.Replicas() {
				replicaReads += r.Reads
			}
		}
		if replicaReads == 0 {
			t.Errorf("no read of the conformance suite went to a replica")
		}
		t.Logf("reads served by replicas: %d", replicaReads)
	})
}
