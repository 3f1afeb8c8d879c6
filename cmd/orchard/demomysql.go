package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/orchardhq/orchard/auth"
	"github.com/orchardhq/orchard/dbcluster"
)

// demoDatabase is the demo's private MariaDB cluster: a primary and two
// replicas, each a mariadbd process in DIR/mysql/dbN owned by the demo.
type demoDatabase struct {
	servers  []*dbcluster.LocalServer
	Primary  string   // application DSN without password
	Replicas []string // application DSNs without password
}

// startDemoDatabase starts the servers and sets up replication with the
// same code as `orchard db init`. The application password is kept in
// DIR/db-password (0600) and referenced from the cluster file.
func startDemoDatabase(ctx context.Context, dir string, out func(string, ...any)) (*demoDatabase, error) {
	appPw, err := demoSecretFile(filepath.Join(dir, "db-password"))
	if err != nil {
		return nil, err
	}
	replPw, err := demoSecretFile(filepath.Join(dir, "db-repl-password"))
	if err != nil {
		return nil, err
	}
	db := &demoDatabase{}
	logger := slog.New(slog.DiscardHandler)
	for i := 0; i < 3; i++ {
		s, err := dbcluster.StartLocal(ctx, filepath.Join(dir, "mysql", fmt.Sprintf("db%d", i)), i+1, logger)
		if errors.Is(err, dbcluster.ErrNotInstalled) {
			db.Close()
			return nil, fmt.Errorf("--mysql needs MariaDB's server: install it with `apt-get install mariadb-server` (the demo starts its own private servers; no system service is used): %w", err)
		} else if err != nil {
			db.Close()
			return nil, fmt.Errorf("start MariaDB %d: %w", i, err)
		}
		db.servers = append(db.servers, s)
		role := "replica"
		if i == 0 {
			role = "primary"
		}
		out("  MariaDB %s on %s (data in %s)", role, s.Addr(), s.Dir())
	}
	c := &dbcluster.Cluster{
		Primary:  dbcluster.Server{Addr: db.servers[0].Addr(), DSN: db.servers[0].DSN("root", "", "")},
		Database: "orchard",
		App:      dbcluster.Account{User: "orchard", Host: "127.0.0.1", Password: appPw},
		Repl:     dbcluster.Account{User: "orchard_repl", Host: "127.0.0.1", Password: replPw},
		Logger:   logger,
	}
	for _, s := range db.servers[1:] {
		c.Replicas = append(c.Replicas, dbcluster.Server{Addr: s.Addr(), DSN: s.DSN("root", "", "")})
	}
	rep, err := c.Init(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("set up replication: %w", err)
	}
	changed := "unchanged"
	if rep.Changed() {
		changed = "set up"
	}
	out("  replication %s: 1 primary, %d replicas", changed, len(c.Replicas))
	db.Primary = db.servers[0].DSN("orchard", "", "orchard")
	for _, s := range db.servers[1:] {
		db.Replicas = append(db.Replicas, s.DSN("orchard", "", "orchard"))
	}
	return db, nil
}

// Close stops every server; their data stays for the next run.
func (db *demoDatabase) Close() {
	if db == nil {
		return
	}
	for i := len(db.servers) - 1; i >= 0; i-- {
		db.servers[i].Close()
	}
}

// demoSecretFile returns the password in path, creating a random one
// (mode 0600) the first time.
func demoSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b)), nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	pw := auth.RandomPassword()
	return pw, os.WriteFile(path, []byte(pw+"\n"), 0o600)
}
