package orchard

import (
	"path"
	"strings"
	"time"
	"unicode/utf8"
)

// Category is a node in a site's category tree. Its Path mirrors its place
// ("/news/tech/" is a child of "/news/"), and its listing page is served at
// that path.
type Category struct {
	Path        string // e.g. "/news/"; ends with "/"; never "/"
	Title       string
	Description string
	Sort        int // order among siblings, then Title
	Created     time.Time
	Updated     time.Time
}

// Parent returns the path of the parent category, or "" for a top-level one.
func (c *Category) Parent() string { return ParentDir(c.Path) }

// Validate checks the category, returning an EINVALID *Error.
func (c *Category) Validate() error {
	if err := ValidateContentPath(c.Path, true); err != nil {
		return err
	}
	if c.Path == "/" {
		return Errorf(EINVALID, "A category cannot have the path '/'.")
	}
	if strings.TrimSpace(c.Title) == "" {
		return Errorf(EINVALID, "Title is required.")
	}
	if len(c.Title) > 200 {
		return Errorf(EINVALID, "Title is longer than 200 bytes.")
	}
	return validUTF8(c.Title, c.Description)
}

// validUTF8 refuses text that is not UTF-8, so that every store (MySQL's
// utf8mb4 columns refuse it) keeps exactly the same content.
func validUTF8(fields ...string) error {
	for _, f := range fields {
		if !utf8.ValidString(f) {
			return Errorf(EINVALID, "A text value is not valid UTF-8.")
		}
	}
	return nil
}

// Page body formats.
const (
	FormatMarkdown = "markdown"
	FormatHTML     = "html"
)

// Layout names every site has.
const (
	LayoutPost     = "post"
	LayoutPage     = "page"
	LayoutCategory = "category"
	LayoutHome     = "home"
	Layout404      = "404"
)

// Page is a page or post. A page in a category is a post and is listed on
// the category's listing, in the feed and in the sitemap; an uncategorised
// page (Category "") is a stand-alone page such as "/about/" or the home
// page "/".
type Page struct {
	Path        string // full URL path, ends with "/", e.g. "/news/hello/"
	Title       string
	Category    string // path of its category, or ""; Path starts with it
	Layout      string // template name under "layouts/"; default post or page
	Format      string // FormatMarkdown (default) or FormatHTML
	Body        string
	Description string
	Published   bool // drafts are rendered in previews only
	Created     time.Time
	Updated     time.Time
	// Digest is ContentDigest as the store computed it when the page was
	// written; only Store.LoadSiteIndex fills it ("" = unknown).
	Digest string `json:"-"`
}

// Validate fills defaults and checks the page, returning an EINVALID *Error.
func (p *Page) Validate() error {
	if err := ValidateContentPath(p.Path, true); err != nil {
		return err
	}
	if strings.TrimSpace(p.Title) == "" {
		return Errorf(EINVALID, "Title is required.")
	}
	if len(p.Title) > 200 {
		return Errorf(EINVALID, "Title is longer than 200 bytes.")
	}
	if p.Category != "" {
		if err := ValidateContentPath(p.Category, true); err != nil {
			return Errorf(EINVALID, "Category: %s", ErrorMessage(err))
		}
		if ParentDir(p.Path) != p.Category {
			return Errorf(EINVALID, "Path %q must be directly inside its category %q.", p.Path, p.Category)
		}
	}
	if p.Layout == "" {
		p.Layout = LayoutPage
		if p.Category != "" {
			p.Layout = LayoutPost
		}
	}
	if !ValidName(p.Layout, 64) {
		return Errorf(EINVALID, "Layout %q may hold only letters, digits, '-' and '_'.", p.Layout)
	}
	switch p.Format {
	case "":
		p.Format = FormatMarkdown
	case FormatMarkdown, FormatHTML:
	default:
		return Errorf(EINVALID, "Format must be markdown or html.")
	}
	if len(p.Body) > MaxBodyLen {
		return Errorf(EINVALID, "Body is longer than %d bytes.", MaxBodyLen)
	}
	if len(p.Description) > 1000 {
		return Errorf(EINVALID, "Description is longer than 1000 bytes.")
	}
	return validUTF8(p.Title, p.Body, p.Description)
}

// MaxBodyLen is the largest page body accepted, in bytes.
const MaxBodyLen = 4 << 20

// MaxAssetLen is the largest asset accepted, in bytes.
const MaxAssetLen = 16 << 20

// ParentDir returns the directory path that holds p: "/a/b/" -> "/a/",
// "/a/" -> "", "/a/x.css" -> "/a/".
func ParentDir(p string) string {
	d := path.Dir(strings.TrimSuffix(p, "/"))
	if d == "/" || d == "." {
		return ""
	}
	return d + "/"
}

// Asset is a file served as it is: theme CSS, images, scripts.
type Asset struct {
	Path        string // e.g. "/theme/style.css"; never ends with "/"
	ContentType string // e.g. "text/css; charset=utf-8"
	Data        []byte
	Updated     time.Time
}

// Validate checks the asset, returning an EINVALID *Error.
func (a *Asset) Validate() error {
	if err := ValidateContentPath(a.Path, false); err != nil {
		return err
	}
	if a.ContentType == "" || len(a.ContentType) > 100 || containsControl(a.ContentType) {
		return Errorf(EINVALID, "Content type is missing or invalid.")
	}
	if len(a.Data) > MaxAssetLen {
		return Errorf(EINVALID, "Asset is larger than %d bytes.", MaxAssetLen)
	}
	return nil
}

// Template is a Go html/template file of a site: a layout ("layouts/post.html")
// or a partial ("partials/navbar.html").
type Template struct {
	Name    string // "layouts/NAME.html" or "partials/NAME.html"
	Body    string
	Updated time.Time
}

// Validate checks the template's name and size; render checks that it parses.
func (t *Template) Validate() error {
	dir, file, ok := strings.Cut(t.Name, "/")
	if !ok || (dir != "layouts" && dir != "partials") || !strings.HasSuffix(file, ".html") ||
		!ValidName(strings.TrimSuffix(file, ".html"), 64) {
		return Errorf(EINVALID, "Template name %q must be layouts/NAME.html or partials/NAME.html.", t.Name)
	}
	if len(t.Body) > 1<<20 {
		return Errorf(EINVALID, "Template is larger than 1 MiB.")
	}
	return validUTF8(t.Body)
}

// ValidName reports whether s is a name orchard accepts for a layout, a
// user, a node and the like: 1 to max ASCII letters, digits, '-' and '_'.
func ValidName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// User is someone who may log in to the admin UI: an admin of one site, or a
// cluster admin (Site "") who may manage every site.
type User struct {
	Site         string // host of the site, or "" for a cluster admin
	Name         string
	PasswordHash string // argon2id or bcrypt, never the password
	Created      time.Time
}

// Validate checks the user, returning an EINVALID *Error.
func (u *User) Validate() error {
	if !ValidName(u.Name, 64) {
		return Errorf(EINVALID, "User name may hold only letters, digits, '-' and '_' (at most 64).")
	}
	if u.PasswordHash == "" {
		return Errorf(EINVALID, "Password hash is required.")
	}
	return nil
}

// SiteContent is everything a site holds, loaded at once: what a build
// renders from, what an export writes and what an import reads.
type SiteContent struct {
	Site       Site
	Categories []Category // sorted by Path
	Pages      []Page     // sorted by Path
	Assets     []Asset    // sorted by Path
	Templates  []Template // sorted by Name
	Users      []User     // sorted by Name
}
