package orchard

import "context"

// PageFilter selects pages in Store.Pages. The zero value selects every page.
type PageFilter struct {
	Category      string // only pages directly in this category ("" = any)
	PublishedOnly bool
}

// Store keeps sites and their content. It has two implementations, sqlite
// and mysql, and both pass the same conformance suite (internal/storetest).
// Host arguments must be canonical (NormalizeHost); methods return an
// ENOTFOUND *Error when the site or item is missing, EINVALID when a value
// fails Validate, and ECONFLICT when a create meets an existing item.
type Store interface {
	// CreateSite registers the site (ECONFLICT if the host or an alias is
	// already taken). It sets s.Prefix.
	CreateSite(ctx context.Context, s *Site) error
	// DropSite deletes all of the site's content and users and unregisters
	// it (ENOTFOUND).
	DropSite(ctx context.Context, host string) error
	// UpdateSite saves the site's settings and aliases (ENOTFOUND, ECONFLICT).
	UpdateSite(ctx context.Context, s *Site) error
	// Site returns a site by its host (ENOTFOUND).
	Site(ctx context.Context, host string) (*Site, error)
	// LookupHost returns the site whose host or alias is host (ENOTFOUND).
	LookupHost(ctx context.Context, host string) (*Site, error)
	// Sites returns every site, sorted by host.
	Sites(ctx context.Context) ([]*Site, error)
	// SitesMatching returns the sites whose host or an alias matches p,
	// sorted by host, without reading every site when few match.
	SitesMatching(ctx context.Context, p HostPattern) ([]*Site, error)

	// PutCategory creates or replaces a category (ENOTFOUND if its parent
	// category is missing).
	PutCategory(ctx context.Context, host string, c *Category) error
	Category(ctx context.Context, host, path string) (*Category, error)
	Categories(ctx context.Context, host string) ([]*Category, error)
	// DeleteCategory removes an empty category (ECONFLICT while it still has
	// pages or child categories).
	DeleteCategory(ctx context.Context, host, path string) error

	// PutPage creates or replaces the page at p.Path (ENOTFOUND if its
	// category is missing). A zero Created keeps an existing page's (a new
	// page's becomes now); a non-zero Created is the page's new date.
	PutPage(ctx context.Context, host string, p *Page) error
	Page(ctx context.Context, host, path string) (*Page, error)
	Pages(ctx context.Context, host string, f PageFilter) ([]*Page, error)
	DeletePage(ctx context.Context, host, path string) error

	PutAsset(ctx context.Context, host string, a *Asset) error
	Asset(ctx context.Context, host, path string) (*Asset, error)
	// Assets lists assets without their Data.
	Assets(ctx context.Context, host string) ([]*Asset, error)
	DeleteAsset(ctx context.Context, host, path string) error

	PutTemplate(ctx context.Context, host string, t *Template) error
	Template(ctx context.Context, host, name string) (*Template, error)
	Templates(ctx context.Context, host string) ([]*Template, error)
	DeleteTemplate(ctx context.Context, host, name string) error

	// PutUser creates or replaces a user; u.Site "" is a cluster admin.
	PutUser(ctx context.Context, u *User) error
	User(ctx context.Context, site, name string) (*User, error)
	Users(ctx context.Context, site string) ([]*User, error)
	DeleteUser(ctx context.Context, site, name string) error

	// LoadSite reads all of a site's content in one consistent snapshot.
	LoadSite(ctx context.Context, host string) (*SiteContent, error)
	// ReplaceSite writes all of c in one transaction: it creates the site
	// when missing, or, when replace is true, replaces all its content;
	// an existing site with replace false is ECONFLICT. On any error
	// nothing is changed.
	ReplaceSite(ctx context.Context, c *SiteContent, replace bool) error
	// LoadSiteIndex is LoadSite without the page bodies, in one consistent
	// snapshot: every Page has Body "" and Digest set to its
	// ContentDigest (as of the snapshot). Builds read bodies later with
	// PageBodies, only for the pages they render.
	LoadSiteIndex(ctx context.Context, host string) (*SiteContent, error)
	// PageBodies returns, by path, the current body and digest of each page
	// at paths that exists (a missing page is left out). A digest that
	// differs from the one LoadSiteIndex gave means the page changed since.
	PageBodies(ctx context.Context, host string, paths []string) (map[string]PageBody, error)
	// SiteVersion returns the canonical host of the site whose host or
	// alias is host, and the site's content version: a number the store
	// changes in the same transaction as every change to the site's
	// settings, aliases, categories, pages, assets or templates (users
	// are not content), and that a site created again under the same
	// host does not start from (ENOTFOUND). It is one cheap read, so a
	// reader may keep whatever it derived from the content for as long as
	// the version stays the same.
	SiteVersion(ctx context.Context, host string) (site string, version int64, err error)

	Close() error
}
