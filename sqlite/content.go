package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sqlrows"
)

// LoadSite reads all of a site's content in one read transaction, so the
// result is one consistent snapshot.
func (db *DB) LoadSite(ctx context.Context, host string) (*orchard.SiteContent, error) {
	return db.loadSite(ctx, host, false)
}

// LoadSiteIndex is LoadSite without page bodies: each page has Body "" and
// Digest set.
func (db *DB) LoadSiteIndex(ctx context.Context, host string) (*orchard.SiteContent, error) {
	return db.loadSite(ctx, host, true)
}

func (db *DB) loadSite(ctx context.Context, host string, index bool) (*orchard.SiteContent, error) {
	h, err := orchard.NormalizeHost(host)
	if err != nil {
		return nil, siteNotFound(host)
	}
	var c orchard.SiteContent
	err = db.view(ctx, func(tx *sql.Tx) error {
		s, err := getSite(ctx, tx, h)
		if err != nil {
			return err
		}
		c.Site = *s
		if c.Categories, err = sqlrows.Values(listCategories(ctx, tx, h)); err != nil {
			return err
		}
		if c.Pages, err = loadPages(ctx, tx, h, index); err != nil {
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
		return nil, wrapRead("load site "+h, err)
	}
	return &c, nil
}

// ReplaceSite writes all of c in one transaction: it creates the site when
// missing or, when replace is true, replaces all of its content (users
// included). Every value is validated before anything is written; on any
// error nothing changes. c itself is not modified. Users in c belong to
// c.Site whatever their Site field says. Times in c are kept; zero times
// become now.
func (db *DB) ReplaceSite(ctx context.Context, c *orchard.SiteContent, replace bool) error {
	in, err := validateContent(c)
	if err != nil {
		return err
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		site := &in.Site
		ok, err := siteExists(ctx, tx, site.Host)
		if err != nil {
			return fmt.Errorf("sqlite: replace site %s: %w", site.Host, err)
		}
		var id int64
		switch {
		case ok && !replace:
			return orchard.Errorf(orchard.ECONFLICT, "Site %q already exists.", site.Host)
		case ok:
			want := site.Created
			if err := db.updateSite(ctx, tx, site); err != nil { // keeps the old Created
				return err
			}
			if !want.IsZero() {
				site.Created = db.stamp(want)
				if _, err := tx.ExecContext(ctx, `UPDATE orchard_sites SET created = ? WHERE host = ?`,
					timeToDB(site.Created), site.Host); err != nil {
					return fmt.Errorf("sqlite: replace site %s: %w", site.Host, err)
				}
			}
			if _, id, err = siteID(ctx, tx, site.Host); err != nil {
				return err
			}
			if err := deleteContent(ctx, tx, id); err != nil {
				return fmt.Errorf("sqlite: replace site %s: %w", site.Host, err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM orchard_users WHERE site = ?`, site.Host); err != nil {
				return fmt.Errorf("sqlite: replace site %s: %w", site.Host, err)
			}
		default:
			if id, err = db.createSite(ctx, tx, site); err != nil {
				return err
			}
		}
		for i := range in.Categories {
			if err := db.putCategory(ctx, tx, id, &in.Categories[i], false); err != nil {
				return err
			}
		}
		for i := range in.Pages {
			if err := db.putPage(ctx, tx, id, &in.Pages[i], false); err != nil {
				return err
			}
		}
		for i := range in.Assets {
			if err := db.putAsset(ctx, tx, id, &in.Assets[i]); err != nil {
				return err
			}
		}
		for i := range in.Templates {
			if err := db.putTemplate(ctx, tx, id, &in.Templates[i]); err != nil {
				return err
			}
		}
		for i := range in.Users {
			if err := db.putUser(ctx, tx, &in.Users[i], false); err != nil {
				return err
			}
		}
		return nil
	})
}

// validateContent validates a deep copy of c, so defaults filled in by
// Validate do not leak into the caller's value, and sorts what must be
// written in order (parents before children). Duplicates are EINVALID.
func validateContent(c *orchard.SiteContent) (*orchard.SiteContent, error) {
	in := &orchard.SiteContent{Site: c.Site}
	in.Site.Aliases = append([]string(nil), c.Site.Aliases...)
	in.Site.Redirects = append([]orchard.Redirect(nil), c.Site.Redirects...)
	if err := in.Site.Validate(); err != nil {
		return nil, err
	}
	in.Categories = slices.Clone(c.Categories)
	sort.Slice(in.Categories, func(i, j int) bool { return in.Categories[i].Path < in.Categories[j].Path })
	in.Pages, in.Assets, in.Templates = slices.Clone(c.Pages), slices.Clone(c.Assets), slices.Clone(c.Templates)
	in.Users = slices.Clone(c.Users)
	for i := range in.Users {
		in.Users[i].Site = in.Site.Host
	}
	for _, err := range []error{
		checkItems("Category", in.Categories, func(x *orchard.Category) string { return x.Path }),
		checkItems("Page", in.Pages, func(x *orchard.Page) string { return x.Path }),
		checkItems("Asset", in.Assets, func(x *orchard.Asset) string { return x.Path }),
		checkItems("Template", in.Templates, func(x *orchard.Template) string { return x.Name }),
		checkItems("User", in.Users, func(x *orchard.User) string { return x.Name }),
	} {
		if err != nil {
			return nil, err
		}
	}
	return in, nil
}

// checkItems validates each item of kind in place and refuses a second
// item with the same key (read after Validate, which may normalise it).
func checkItems[T any, PT interface {
	*T
	Validate() error
}](kind string, items []T, key func(PT) string) error {
	seen := make(map[string]bool, len(items))
	for i := range items {
		x := PT(&items[i])
		if err := x.Validate(); err != nil {
			return orchard.Errorf(orchard.EINVALID, "%s %q: %s", kind, key(x), orchard.ErrorMessage(err))
		}
		if seen[key(x)] {
			return orchard.Errorf(orchard.EINVALID, "%s %q is given twice.", kind, key(x))
		}
		seen[key(x)] = true
	}
	return nil
}
