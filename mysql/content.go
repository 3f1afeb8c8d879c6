package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlrows"
)

// LoadSite reads all of a site's content in one consistent snapshot (a
// read-only REPEATABLE READ transaction).
func (d *DB) LoadSite(ctx context.Context, host string) (*orchard.SiteContent, error) {
	return d.loadSite(ctx, host, false)
}

// LoadSiteIndex is LoadSite without page bodies: each page has Body "" and
// Digest set.
func (d *DB) LoadSiteIndex(ctx context.Context, host string) (*orchard.SiteContent, error) {
	return d.loadSite(ctx, host, true)
}

func (d *DB) loadSite(ctx context.Context, host string, index bool) (*orchard.SiteContent, error) {
	h, err := canonical(host)
	if err != nil {
		return nil, err
	}
	var c *orchard.SiteContent
	err = d.readTx(ctx, func(tx *sql.Tx) error {
		c = &orchard.SiteContent{}
		s, err := getSite(ctx, tx, h)
		if err != nil {
			return err
		}
		c.Site = *s
		if c.Categories, err = sqlrows.Values(listCategories(ctx, tx, h)); err != nil {
			return err
		}
		if index {
			c.Pages, err = listPageIndex(ctx, tx, h)
		} else {
			c.Pages, err = sqlrows.Values(listPages(ctx, tx, h, orchard.PageFilter{}))
		}
		if err != nil {
			return err
		}
		if c.Assets, err = sqlrows.Values(listAssets(ctx, tx, h, true)); err != nil {
			return err
		}
		if c.Templates, err = sqlrows.Values(listTemplates(ctx, tx, h)); err != nil {
			return err
		}
		c.Users, err = sqlrows.Values(listUsers(ctx, tx, h))
		return err
	})
	if err != nil {
		return nil, mapReadError(err)
	}
	return c, nil
}

// ReplaceSite writes all of c: it creates the site when missing or, with
// replace, replaces all its content. Every value is validated first; rows
// are written in one transaction, so on any error nothing is changed.
func (d *DB) ReplaceSite(ctx context.Context, in *orchard.SiteContent, replace bool) error {
	c := copyContent(in) // the caller's value is left as it was
	if err := validateContent(c); err != nil {
		return err
	}
	s := &c.Site
	s.Prefix = orchard.TablePrefix(s.Host)
	return d.withSiteLock(ctx, s.Host, func(conn *sql.Conn) error {
		var exists bool
		var one int
		err := conn.QueryRowContext(ctx, "SELECT 1 FROM orchard_sites WHERE host = ?", s.Host).Scan(&one)
		switch {
		case err == nil:
			exists = true
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("replace site %s: %w", s.Host, err)
		}
		if exists && !replace {
			return orchard.Errorf(orchard.ECONFLICT, "Site %q already exists.", s.Host)
		}
		if !exists {
			if err := d.checkHostsFree(ctx, conn, s, ""); err != nil {
				return err
			}
		}
		err = d.writeVia(ctx, conn, func(tx *sql.Tx) error {
			var id int64
			var err error
			if exists {
				id, err = clearSite(ctx, tx, s)
			} else {
				s.Created = stamp(s.Created)
				s.Updated = stamp(s.Updated)
				id, err = insertSite(ctx, tx, s)
			}
			if err != nil {
				return err
			}
			return insertContent(ctx, tx, id, c)
		})
		return mapSiteConflict(err, s)
	})
}

// copyContent copies c deeply enough that filling defaults and times
// leaves c alone (byte slices are shared: they are only read).
func copyContent(c *orchard.SiteContent) *orchard.SiteContent {
	out := *c
	out.Site.Aliases = append([]string(nil), c.Site.Aliases...)
	out.Site.Redirects = append([]orchard.Redirect(nil), c.Site.Redirects...)
	out.Categories = append([]orchard.Category(nil), c.Categories...)
	out.Pages = append([]orchard.Page(nil), c.Pages...)
	out.Assets = append([]orchard.Asset(nil), c.Assets...)
	out.Templates = append([]orchard.Template(nil), c.Templates...)
	out.Users = append([]orchard.User(nil), c.Users...)
	return &out
}

// validateContent checks every value of c before anything is written.
func validateContent(c *orchard.SiteContent) error {
	if err := c.Site.Validate(); err != nil {
		return err
	}
	for i := range c.Categories {
		if err := c.Categories[i].Validate(); err != nil {
			return orchard.Errorf(orchard.EINVALID, "Category %q: %s", c.Categories[i].Path, orchard.ErrorMessage(err))
		}
	}
	cats := map[string]bool{}
	for _, x := range c.Categories {
		cats[x.Path] = true
	}
	for i := range c.Pages {
		if err := c.Pages[i].Validate(); err != nil {
			return orchard.Errorf(orchard.EINVALID, "Page %q: %s", c.Pages[i].Path, orchard.ErrorMessage(err))
		}
		if cats[c.Pages[i].Path] {
			return orchard.Errorf(orchard.ECONFLICT, "%q is both a page and a category.", c.Pages[i].Path)
		}
	}
	for i := range c.Assets {
		if err := c.Assets[i].Validate(); err != nil {
			return orchard.Errorf(orchard.EINVALID, "Asset %q: %s", c.Assets[i].Path, orchard.ErrorMessage(err))
		}
	}
	for i := range c.Templates {
		if err := c.Templates[i].Validate(); err != nil {
			return orchard.Errorf(orchard.EINVALID, "Template %q: %s", c.Templates[i].Name, orchard.ErrorMessage(err))
		}
	}
	for i := range c.Users {
		u := &c.Users[i]
		if err := u.Validate(); err != nil {
			return orchard.Errorf(orchard.EINVALID, "User %q: %s", u.Name, orchard.ErrorMessage(err))
		}
		if u.Site != "" && u.Site != c.Site.Host {
			return orchard.Errorf(orchard.EINVALID, "User %q belongs to site %q, not %q.", u.Name, u.Site, c.Site.Host)
		}
	}
	return nil
}

// clearSite updates the site's settings and aliases and deletes its
// content, inside the replacing transaction, and returns the site's id.
func clearSite(ctx context.Context, tx *sql.Tx, s *orchard.Site) (int64, error) {
	id, err := updateSite(ctx, tx, s)
	if err != nil {
		return 0, err
	}
	if err := deleteContent(ctx, tx, id); err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx, "DELETE FROM orchard_users WHERE site = ?", s.Host)
	return id, err
}

// insertContent writes c's rows under site id; categories sorted so
// parents come first.
func insertContent(ctx context.Context, tx *sql.Tx, id int64, c *orchard.SiteContent) error {
	cats := make([]*orchard.Category, len(c.Categories))
	for i := range c.Categories {
		cats[i] = &c.Categories[i]
	}
	sort.Slice(cats, func(i, j int) bool { return cats[i].Path < cats[j].Path })
	for _, x := range cats {
		x.Created, x.Updated = stamp(x.Created), stamp(x.Updated)
		if err := putCategory(ctx, tx, id, x, false); err != nil {
			return dupIs(err, "Category %q is given twice.", x.Path)
		}
	}
	for i := range c.Pages {
		x := &c.Pages[i]
		x.Created, x.Updated = stamp(x.Created), stamp(x.Updated)
		if err := putPage(ctx, tx, id, x, false, false); err != nil {
			return dupIs(err, "Page %q is given twice.", x.Path)
		}
	}
	for i := range c.Assets {
		x := &c.Assets[i]
		x.Updated = stamp(x.Updated)
		if err := putAsset(ctx, tx, id, x, false); err != nil {
			return dupIs(err, "Asset %q is given twice.", x.Path)
		}
	}
	for i := range c.Templates {
		x := &c.Templates[i]
		x.Updated = stamp(x.Updated)
		if err := putTemplate(ctx, tx, id, x, false); err != nil {
			return dupIs(err, "Template %q is given twice.", x.Name)
		}
	}
	for i := range c.Users {
		x := &c.Users[i]
		x.Site = c.Site.Host
		x.Created = stamp(x.Created)
		if err := putUser(ctx, tx, x, false); err != nil {
			return dupIs(err, "User %q is given twice.", x.Name)
		}
	}
	return nil
}

// dupIs names the duplicated item of a duplicate-key error.
func dupIs(err error, format, key string) error {
	if mysqlErrno(err) == errDupEntry {
		return orchard.Errorf(orchard.EINVALID, format, key)
	}
	return err
}
