package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlrows"
)

func userNotFound(site, name string) error {
	if site == "" {
		return orchard.Errorf(orchard.ENOTFOUND, "Cluster admin %q not found.", name)
	}
	return orchard.Errorf(orchard.ENOTFOUND, "User %q of %q not found.", name, site)
}

// userSite resolves the site of a user: "" stays "" (cluster admin), any
// other value must name a site (ENOTFOUND).
func userSite(ctx context.Context, q querier, site string) (string, error) {
	if site == "" {
		return "", nil
	}
	h, _, err := siteID(ctx, q, site)
	return h, err
}

// PutUser creates or replaces a user. An existing user's Created is kept.
func (db *DB) PutUser(ctx context.Context, u *orchard.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		site, err := userSite(ctx, tx, u.Site)
		if err != nil {
			return err
		}
		u.Site = site
		return db.putUser(ctx, tx, u, true)
	})
}

func (db *DB) putUser(ctx context.Context, tx *sql.Tx, u *orchard.User, keep bool) error {
	if keep {
		if err := keepCreated(ctx, tx, &u.Created, `SELECT created FROM orchard_users WHERE site = ? AND name = ?`, u.Site, u.Name); err != nil {
			return fmt.Errorf("sqlite: put user %s: %w", u.Name, err)
		}
	}
	u.Created = db.stamp(u.Created)
	_, err := tx.ExecContext(ctx, `INSERT INTO orchard_users (site, name, password_hash, created) VALUES (?, ?, ?, ?)
		ON CONFLICT (site, name) DO UPDATE SET password_hash = excluded.password_hash, created = excluded.created`,
		u.Site, u.Name, u.PasswordHash, timeToDB(u.Created))
	if err != nil {
		return fmt.Errorf("sqlite: put user %s: %w", u.Name, err)
	}
	return nil
}

const userColumns = `site, name, password_hash, created`

func scanUser(sc sqlrows.Scanner) (*orchard.User, error) {
	var u orchard.User
	var created int64
	if err := sc.Scan(&u.Site, &u.Name, &u.PasswordHash, &created); err != nil {
		return nil, err
	}
	u.Created = timeFromDB(created)
	return &u, nil
}

// User returns the user name of site ("" for a cluster admin).
func (db *DB) User(ctx context.Context, site, name string) (*orchard.User, error) {
	var u *orchard.User
	err := db.view(ctx, func(tx *sql.Tx) error {
		h, err := userSite(ctx, tx, site)
		if err != nil {
			return err
		}
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM orchard_users WHERE site = ? AND name = ?`, h, name))
		if errors.Is(err, sql.ErrNoRows) {
			return userNotFound(h, name)
		}
		return err
	})
	if err != nil {
		return nil, wrapRead("user "+name, err)
	}
	return u, nil
}

// Users returns the users of site ("" for the cluster admins), sorted by name.
func (db *DB) Users(ctx context.Context, site string) ([]*orchard.User, error) {
	var us []*orchard.User
	err := db.view(ctx, func(tx *sql.Tx) error {
		h, err := userSite(ctx, tx, site)
		if err != nil {
			return err
		}
		us, err = listUsers(ctx, tx, h)
		return err
	})
	if err != nil {
		return nil, wrapRead("users", err)
	}
	return us, nil
}

func listUsers(ctx context.Context, q querier, site string) ([]*orchard.User, error) {
	return sqlrows.List(ctx, q, scanUser, `SELECT `+userColumns+` FROM orchard_users WHERE site = ? ORDER BY name`, site)
}

// DeleteUser removes the user name of site.
func (db *DB) DeleteUser(ctx context.Context, site, name string) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		h, err := userSite(ctx, tx, site)
		if err != nil {
			return err
		}
		return deleteRow(ctx, tx, userNotFound(h, name), `DELETE FROM orchard_users WHERE site = ? AND name = ?`, h, name)
	})
}
