package main

import (
	"context"

	orchard "github.com/orchardhq/orchard"
)

// openMySQLStore opens the MySQL/MariaDB store named by the cluster file's
// [database] section: writes to primary, reads from replicas.
func openMySQLStore(ctx context.Context, primary string, replicas []string) (orchard.Store, error) {
	return nil, usagef("the mysql database driver is not built yet; use driver = \"sqlite\"")
}
