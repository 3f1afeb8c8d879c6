package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/mysql"
)

// openMySQLStoreConfig opens the MySQL/MariaDB store of the cluster file's
// [database] section: writes to the primary, reads from the replicas; a DSN
// without a password takes it from password_file or password_env.
func openMySQLStoreConfig(ctx context.Context, d config.Database) (orchard.Store, error) {
	pw, err := dbPassword(d)
	if err != nil {
		return nil, err
	}
	db, err := mysql.Open(ctx, d.Primary, d.Replicas, mysql.Options{
		Password: pw,
		MaxLag:   d.MaxLag.Duration,
		Logger:   slog.Default(),
	})
	if err != nil {
		return nil, err
	}
	return db, nil
}

// dbPassword returns the application password for DSNs that leave it out:
// the first line of password_file, else the variable password_env.
func dbPassword(d config.Database) (string, error) {
	if d.PasswordFile != "" {
		f, err := os.Open(d.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("database.password_file: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, 4097))
		if err != nil {
			return "", fmt.Errorf("database.password_file: %w", err)
		}
		if len(b) > 4096 {
			return "", fmt.Errorf("database.password_file %s is larger than 4 KiB", d.PasswordFile)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimSuffix(line, "\r"), nil
	}
	if d.PasswordEnv != "" {
		return os.Getenv(d.PasswordEnv), nil
	}
	return "", nil
}
