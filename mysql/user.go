package mysql

import (
	"context"
	"database/sql"
	"errors"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlrows"
)

// userSite normalises the site of a user: "" (a cluster admin) or a host;
// a host that is not even valid names no site.
func userSite(site string) (string, error) {
	if site == "" {
		return "", nil
	}
	return canonical(site)
}

// siteMustExist returns ENOTFOUND unless site is "" or registered.
func siteMustExist(ctx context.Context, q querier, site, lock string) error {
	if site == "" {
		return nil
	}
	return mustExist(ctx, q, siteNotFound(site), "SELECT 1 FROM orchard_sites WHERE host = ?"+lock, site)
}

// PutUser creates or replaces a user, keeping Created of an existing one.
// A site user's site must exist.
func (d *DB) PutUser(ctx context.Context, u *orchard.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	site, err := userSite(u.Site)
	if err != nil {
		return err
	}
	u.Site = site
	return d.write(ctx, func(tx *sql.Tx) error {
		if err := siteMustExist(ctx, tx, site, " LOCK IN SHARE MODE"); err != nil {
			return err
		}
		u.Created = stamp(u.Created)
		// Upsert first, then read Created back (see PutCategory).
		if err := putUser(ctx, tx, u, true); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT created FROM orchard_users WHERE site = ? AND name = ?", site, u.Name).Scan(&u.Created)
	})
}

func putUser(ctx context.Context, tx *sql.Tx, u *orchard.User, upsert bool) error {
	q := "INSERT INTO orchard_users (site, name, password_hash, created) VALUES (?, ?, ?, ?)"
	if upsert {
		q += " ON DUPLICATE KEY UPDATE password_hash = VALUES(password_hash)"
	}
	_, err := tx.ExecContext(ctx, q, u.Site, u.Name, u.PasswordHash, u.Created)
	return err
}

const userColumns = "site, name, password_hash, created"

func scanUser(sc sqlrows.Scanner) (*orchard.User, error) {
	u := &orchard.User{}
	return u, sc.Scan(&u.Site, &u.Name, &u.PasswordHash, &u.Created)
}

// User returns one user.
func (d *DB) User(ctx context.Context, site, name string) (*orchard.User, error) {
	site, err := userSite(site)
	if err != nil {
		return nil, err
	}
	var u *orchard.User
	err = d.read(ctx, func(db *sql.DB) error {
		var err error
		u, err = scanUser(db.QueryRowContext(ctx, "SELECT "+userColumns+" FROM orchard_users WHERE site = ? AND name = ?", site, name))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("User", name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Users returns the users of a site ("" = cluster admins), sorted by name.
func (d *DB) Users(ctx context.Context, site string) ([]*orchard.User, error) {
	site, err := userSite(site)
	if err != nil {
		return nil, err
	}
	var out []*orchard.User
	err = d.read(ctx, func(db *sql.DB) error {
		if err := siteMustExist(ctx, db, site, ""); err != nil {
			return err
		}
		var err error
		out, err = listUsers(ctx, db, site)
		return err
	})
	return out, err
}

func listUsers(ctx context.Context, q querier, site string) ([]*orchard.User, error) {
	return sqlrows.List(ctx, q, scanUser, "SELECT "+userColumns+" FROM orchard_users WHERE site = ? ORDER BY name", site)
}

// DeleteUser removes a user.
func (d *DB) DeleteUser(ctx context.Context, site, name string) error {
	site, err := userSite(site)
	if err != nil {
		return err
	}
	return d.write(ctx, func(tx *sql.Tx) error {
		return deleteRow(ctx, tx, notFound("User", name), "DELETE FROM orchard_users WHERE site = ? AND name = ?", site, name)
	})
}
