package dbcluster_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"github.com/orchardhq/orchard/dbcluster"
	"github.com/orchardhq/orchard/internal/mariadbtest"
)

// A private server starts, answers on its port, keeps its data across a
// restart in the same directory, and stops; Close is idempotent.
func TestLocalServer(t *testing.T) {
	// A deep directory forces the socket into a short temporary one.
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 90))
	s, err := dbcluster.StartLocal(t.Context(), dir, 7, nil)
	if err != nil {
		mariadbtest.Skip(t, err)
	}
	t.Cleanup(func() { s.Close() })
	if len(s.Socket()) > 100 {
		t.Errorf("socket path %q is too long for a Unix socket", s.Socket())
	}
	db, err := sql.Open("mysql", s.DSN("root", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	var id int
	if err := db.QueryRow("SELECT @@server_id").Scan(&id); err != nil || id != 7 {
		t.Fatalf("server_id %d %v, want 7", id, err)
	}
	for _, q := range []string{"CREATE DATABASE keep", "CREATE TABLE keep.t (x INT)", "INSERT INTO keep.t VALUES (42)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Stat(s.Socket()); err == nil {
		t.Errorf("socket %s left behind", s.Socket())
	}

	s2, err := dbcluster.StartLocal(t.Context(), dir, 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	db, err = sql.Open("mysql", s2.DSN("root", "", "keep"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var x int
	if err := db.QueryRow("SELECT x FROM t").Scan(&x); err != nil || x != 42 {
		t.Errorf("data after a restart: %d %v", x, err)
	}
}

func TestStartLocalBadID(t *testing.T) {
	if _, err := dbcluster.StartLocal(t.Context(), t.TempDir(), 0, nil); err == nil {
		t.Error("server id 0 accepted")
	}
}
