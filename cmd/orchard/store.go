package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/release"
	"github.com/orchardhq/orchard/sqlite"
	"github.com/spf13/cobra"
)

// loadConfig loads the cluster file the command was pointed at; any mistake
// in it is a usage error (exit 2) that names the file, line and key.
func loadConfig(cmd *cobra.Command) (*config.Config, error) {
	path := configPath(cmd)
	cfg, err := config.Load(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, usagef("%v (give the cluster file with --config FILE or $ORCHARD_CONFIG)", err)
		}
		return nil, usageError{err}
	}
	return cfg, nil
}

// loadReleases loads the cluster file and opens the master's release
// store.
func loadReleases(cmd *cobra.Command) (*config.Config, *release.Store, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, nil, err
	}
	rs, err := release.OpenStore(cfg.Master.Data)
	if err != nil {
		return nil, nil, err
	}
	return cfg, rs, nil
}

// openStore opens the database the cluster file names: the SQLite file
// (creating its directory, mode 0700) or the MySQL/MariaDB primary and
// replicas.
func openStore(ctx context.Context, cfg *config.Config) (orchard.Store, error) {
	switch cfg.Database.Driver {
	case "", "sqlite":
		if cfg.Database.Path == "" {
			return nil, usagef("%s: database.path is empty", cfg.Path)
		}
		if err := os.MkdirAll(filepath.Dir(cfg.Database.Path), 0o700); err != nil {
			return nil, fmt.Errorf("database directory: %w", err)
		}
		db, err := sqlite.Open(ctx, cfg.Database.Path)
		if err != nil {
			return nil, err
		}
		return db, nil
	case "mysql":
		return openMySQLStoreConfig(ctx, cfg.Database)
	default:
		return nil, usagef("%s: database.driver %q is not sqlite or mysql", cfg.Path, cfg.Database.Driver)
	}
}

// withStore loads the cluster file, opens the store, runs fn and closes
// the store, keeping the first error.
func withStore(cmd *cobra.Command, fn func(ctx context.Context, cfg *config.Config, st orchard.Store) error) (err error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close database: %w", cerr)
		}
	}()
	return fn(ctx, cfg, st)
}

// withSite is withStore for a command on one site: it reads -s/--site
// first, so a missing or bad host is a usage error before anything opens.
func withSite(cmd *cobra.Command, fn func(ctx context.Context, host string, st orchard.Store) error) error {
	host, err := hostArg(cmd)
	if err != nil {
		return err
	}
	return withStore(cmd, func(ctx context.Context, _ *config.Config, st orchard.Store) error {
		return fn(ctx, host, st)
	})
}

// newSiteGroupCmd builds a command whose subcommands each work on one site:
// it takes -s/--site for them all and, run alone, asks for a subcommand.
func newSiteGroupCmd(use, short, long string, subs ...*cobra.Command) *cobra.Command {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.Name()
	}
	list := strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("give a subcommand: %s", list)
		},
	}
	cmd.PersistentFlags().StringP("site", "s", "", "the site's `HOST` name (required)")
	cmd.AddCommand(subs...)
	return cmd
}

// newTable starts a table for the terminal: columns of tab-separated
// cells, header is the first line.
func newTable(w io.Writer, header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	return tw
}

// storeError turns a store error into what the user sees: the message of an
// *orchard.Error (not its code), as a usage error (exit 2) when the input
// was invalid; other errors pass through with their context.
func storeError(err error) error {
	var e *orchard.Error
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &e):
		return err
	case e.Code == orchard.EINVALID:
		return usageError{shownError{err}}
	default:
		return shownError{err}
	}
}

// shownError prints an *orchard.Error as its message and keeps it in the
// chain for errors.As and exit codes.
type shownError struct{ err error }

func (e shownError) Error() string { return orchard.ErrorMessage(e.err) }
func (e shownError) Unwrap() error { return e.err }

// hostArg normalises the -s/--site flag; a missing or bad host is a usage
// error that says why.
func hostArg(cmd *cobra.Command) (string, error) {
	raw, _ := cmd.Flags().GetString("site")
	if raw == "" {
		return "", usagef("-s/--site HOST is required")
	}
	h, err := orchard.NormalizeHost(raw)
	if err != nil {
		return "", usagef("-s %q: %s", raw, orchard.ErrorMessage(err))
	}
	return h, nil
}
