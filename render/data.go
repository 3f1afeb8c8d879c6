package render

import (
	"html/template"
	"time"
)

// Data is what every layout and partial is executed with. Each field is
// listed with the input keys (see Renderer.Inputs) it is made from, which is
// why templates see these values and nothing else.
type Data struct {
	Site SiteInfo // "site"
	// Kind is the kind of output: "post", "page", "category", "home" or
	// "404" (a page with a custom layout still has Kind "post" or "page").
	Kind string
	// Layout is the template that renders the output, e.g. "layouts/post.html".
	Layout string
	// Path is the request path of the output, e.g. "/news/hello/"; the 404
	// page has "/404.html".
	Path string
	// URL is the absolute URL of the output, from the site's scheme and host.
	URL string
	// Title and Description describe the output for <title> and <meta>: the
	// page's or category's own, the site's on the home page.
	Title       string
	Description string
	// Section is the path of the top-level menu entry the output belongs to
	// ("/news/" for "/news/tech/hello/", "/" for the home page), so the
	// navbar can mark it; "" when none.
	Section string
	// Menu is the section menu: the home page, the top-level categories
	// (by Sort, then Title) and the published uncategorised pages (by
	// creation). "menu"
	Menu []Link
	// Breadcrumbs lead from the home page through the category tree to the
	// output itself, whose Path is "" (not a link). "category:" of each
	// ancestor, and the output's own page or category.
	Breadcrumbs []Link
	// Page is the page being rendered (post and page layouts; the home
	// page when the site has a page at "/"), else nil. "page:PATH"
	Page *Page
	// Category is the listed category (category layout) or the category of
	// the post being rendered, else nil. "category:PATH"
	Category *Category
	// Posts are the published posts of a listing, newest first: those
	// directly in the category, or the site's newest on the home page.
	// "listing:PATH" ("listing:/" for the home page)
	Posts []Summary
	// Subcategories are the child categories of a listed category (by
	// Sort, then Title), or the top-level categories on the home page.
	// "listing:PATH"
	Subcategories []Link
}

// SiteInfo holds the site settings templates may show.
type SiteInfo struct {
	Host        string // canonical host name
	Title       string // the site's title, or its host when it has none
	Description string
	Scheme      string // "http" or "https"
	URL         string // base URL without a trailing slash, e.g. "https://example.com"
}

// Link is an entry of a menu, a breadcrumb trail or a list of categories.
type Link struct {
	Path        string // site-relative URL path, e.g. "/news/"; "" for the current page in Breadcrumbs
	Title       string
	Description string // categories only
}

// Page is a published page or post as templates see it.
type Page struct {
	Path        string
	URL         string // absolute
	Title       string
	Description string
	Layout      string // layout name, e.g. "post"
	// Content is the body as HTML: rendered Markdown, or the raw HTML body.
	Content  template.HTML
	Created  time.Time // UTC
	Updated  time.Time // UTC
	Category *Link     // the page's category, nil for an uncategorised page
}

// Category is a category as templates see it.
type Category struct {
	Path        string
	URL         string // absolute
	Title       string
	Description string
}

// Summary is a post in a listing or on the home page. It deliberately holds
// no body and no update time, so editing a post's text does not change the
// listings that show it.
type Summary struct {
	Path        string
	URL         string // absolute
	Title       string
	Description string
	Created     time.Time // UTC
	Category    *Link
}
