package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	orchard "github.com/orchardhq/orchard"
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
	err := mustExist(ctx, q, "SELECT 1 FROM orchard_sites WHERE host = ?"+lock, site)
	if orchard.ErrorCode(err) == orchard.ENOTFOUND {
		return siteNotFound(site)
	}
	return err
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

// User returns one user.
func (d *DB) User(ctx context.Context, site, name string) (*orchard.User, error) {
	site, err := userSite(site)
	if err != nil {
		return nil, err
	}
	u := &orchard.User{}
	err = d.read(ctx, func(db *sql.DB) error {
		err := db.QueryRowContext(ctx, "SELECT site, name, password_hash, created FROM orchard_users WHERE site = ? AND name = ?", site, name).
			Scan(&u.Site, &u.Name, &u.PasswordHash, &u.Created)
		if errors.Is(err, sql.ErrNoRows) {
			return orchard.Errorf(orchard.ENOTFOUND, "User %q not found.", name)
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
	rows, err := q.QueryContext(ctx, "SELECT site, name, password_hash, created FROM orchard_users WHERE site = ? ORDER BY name", site)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	out := []*orchard.User{}
	for rows.Next() {
		u := &orchard.User{}
		if err := rows.Scan(&u.Site, &u.Name, &u.PasswordHash, &u.Created); err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// DeleteUser removes a user.
func (d *DB) DeleteUser(ctx context.Context, site, name string) error {
	site, err := userSite(site)
	if err != nil {
		return err
	}
	return d.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM orchard_users WHERE site = ? AND name = ?", site, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return orchard.Errorf(orchard.ENOTFOUND, "User %q not found.", name)
		}
		return nil
	})
}
