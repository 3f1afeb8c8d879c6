package xmlio_test

import (
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"sync"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/dbcluster"
	"github.com/orchardhq/orchard/mysql"
)

// mariadb starts one private MariaDB server for the test (and its
// subtests) and returns an opener of fresh, empty databases on it. It skips
// when mariadbd is not installed, unless CI=true.
func mariadb(t *testing.T) opener {
	t.Helper()
	srv, err := dbcluster.StartLocal(t.Context(), t.TempDir(), 1, slog.New(slog.DiscardHandler))
	if errors.Is(err, dbcluster.ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skip(err)
	} else if err != nil {
		t.Fatalf("start MariaDB: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	admin, err := sql.Open("mysql", srv.DSN("root", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	var mu sync.Mutex
	n := 0
	return func(t *testing.T) orchard.Store {
		t.Helper()
		mu.Lock()
		n++
		name := "orchard_xml_" + string(rune('a'+n))
		mu.Unlock()
		if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+name+" CHARACTER SET utf8mb4"); err != nil {
			t.Fatalf("create database: %v", err)
		}
		db, err := mysql.Open(t.Context(), srv.DSN("root", "", name), nil, mysql.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("mysql.Open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
}

// TestMariaDBRoundTrip is the round trip: export from SQLite,
// import into MariaDB, export again: identical files; and back.
func TestMariaDBRoundTrip(t *testing.T) {
	open := mariadb(t)
	t.Run("SQLiteToMariaDB", func(t *testing.T) { testStoreRoundTrip(t, openSQLite, open) })
	t.Run("MariaDBToSQLite", func(t *testing.T) { testStoreRoundTrip(t, open, openSQLite) })
	t.Run("ImportFails", func(t *testing.T) { testStoreImportFails(t, open) })
}
