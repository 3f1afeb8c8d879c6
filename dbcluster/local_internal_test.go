package dbcluster

import (
	"errors"
	"strings"
	"testing"
)

func TestFindMariaDBMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, _, err := findMariaDB([]string{t.TempDir()})
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("findMariaDB with nothing installed: %v", err)
	}
	if !strings.Contains(err.Error(), "mariadb-server") {
		t.Errorf("the error does not name the package to install: %v", err)
	}
}
