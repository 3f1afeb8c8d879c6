package render

import (
	"bytes"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"

	orchard "github.com/orchardhq/orchard"
)

// Content types of the generated outputs.
const (
	TypeHTML = "text/html; charset=utf-8"
	TypeXML  = "application/xml; charset=utf-8"
	TypeRSS  = "application/rss+xml; charset=utf-8"
	TypeText = "text/plain; charset=utf-8"
)

// Keys of the generated files every site has.
const (
	HomeKey     = "/index.html"
	NotFoundKey = "/404.html"
	SitemapKey  = "/sitemap.xml"
	FeedKey     = "/feed.xml"
	// RobotsKey is generated unless the site has an asset of that path.
	RobotsKey = "/robots.txt"
)

// HomeSize is how many of the newest posts the home page lists.
const HomeSize = 10

// reservedPrefix is where orchard keeps its own files in a release; an
// asset there would be refused by a build, so it is left out.
const reservedPrefix = "/_orchard/"

// Output is one file of a release of the site.
type Output struct {
	// Path is the manifest key: "/index.html", "/news/index.html",
	// "/news/hello/index.html", "/sitemap.xml", "/feed.xml", "/404.html",
	// "/theme/style.css".
	Path string
	// ContentType is TypeHTML, TypeXML, TypeRSS or the asset's type.
	ContentType string
	// Deps are the input keys (see Renderer.Inputs) the output is made
	// from, sorted: if none of their hashes changed, neither did the output.
	Deps []string
}

// Output kinds.
const (
	kindPage     = "page"
	kindListing  = "listing"
	kindHome     = "home"
	kindNotFound = "404"
	kindSitemap  = "sitemap"
	kindFeed     = "feed"
	kindAsset    = "asset"
	kindRobots   = "robots"
)

// output is an Output and what it is rendered from.
type output struct {
	Output
	kind   string
	src    string // page, category or asset path
	layout string // template file name, for HTML outputs
}

// Renderer renders one snapshot of a site. It is immutable once New returns
// and safe for concurrent use.
type Renderer struct {
	site     SiteInfo
	md       goldmark.Markdown
	ts       *templateSet
	pages    map[string]*orchard.Page // published pages by path
	cats     map[string]*orchard.Category
	assets   map[string]*orchard.Asset
	menu     []Link
	listings map[string]*listing // by category path; "/" is the home page's
	feed     []*orchard.Page
	sitemap  []sitemapURL
	outputs  []Output
	byKey    map[string]*output
	inputs   map[string]string
	lazy     *lazyBodies // nil when every page came with its body
}

// listing is what a category listing (or the home page) shows.
type listing struct {
	posts []Summary
	subs  []Link
}

// New parses the site's templates (a site's own template overrides the
// default of the same name; missing ones fall back to the defaults) and
// indexes its content. Drafts are left out of everything. A template that
// does not parse, or content that fails its Validate, is an EINVALID
// *orchard.Error naming the template and line, or the item. A template that
// parses but fails html/template's escaper (or calls a missing template)
// fails only the outputs that use it, at Render; ValidateTemplate refuses it. New never
// panics and does no I/O; c is not modified nor kept.
func New(c *orchard.SiteContent) (r *Renderer, err error) {
	return newRenderer(c, nil)
}

func newRenderer(c *orchard.SiteContent, lazy *lazyBodies) (r *Renderer, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, orchard.Errorf(orchard.EINTERNAL, "Indexing the site failed: %v", p)
		}
	}()
	if c == nil {
		return nil, orchard.Errorf(orchard.EINVALID, "No site content.")
	}
	r = &Renderer{
		md:       newMarkdown(),
		pages:    make(map[string]*orchard.Page),
		cats:     make(map[string]*orchard.Category),
		assets:   make(map[string]*orchard.Asset),
		listings: make(map[string]*listing),
		byKey:    make(map[string]*output),
		lazy:     lazy,
	}
	r.site = siteInfo(&c.Site)
	if r.ts, err = parseTemplates(effectiveTemplates(c.Templates)); err != nil {
		return nil, err
	}
	if err := r.index(c); err != nil {
		return nil, err
	}
	// Page bodies are the bulk of the input bytes: hash them on the other
	// CPUs while the outputs are built (both only read r.pages). Pages
	// without bodies come with their digest.
	pageSums := r.pageDigests
	if lazy == nil {
		pageSums = r.hashPagesAsync()
	}
	// The other inputs are hashed on another CPU too (they need only what
	// index made); the sitemap's, which buildOutputs makes, after.
	type hashed struct {
		in  map[string]string
		err any
	}
	ch := make(chan hashed, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- hashed{err: p}
			}
		}()
		ch <- hashed{in: r.hashInputs(pageSums)}
	}()
	r.buildOutputs()
	h := <-ch
	if h.err != nil {
		panic(h.err)
	}
	r.inputs = h.in
	r.inputs["sitemap"] = r.hashSitemap()
	return r, nil
}

// siteInfo fills the defaults of the settings templates see.
func siteInfo(s *orchard.Site) SiteInfo {
	scheme := s.Scheme
	if scheme != "https" {
		scheme = orchard.DefaultScheme
	}
	title := s.Title
	if strings.TrimSpace(title) == "" {
		title = s.Host
	}
	url := scheme + "://" + s.Host
	if s.Port > 0 && s.Port <= 65535 && !(scheme == "http" && s.Port == 80) && !(scheme == "https" && s.Port == 443) {
		url += ":" + strconv.Itoa(s.Port)
	}
	return SiteInfo{Host: s.Host, Title: title, Description: s.Description, Scheme: scheme, URL: url}
}

// feedSize is the site's feed length with its default and bounds applied.
func feedSize(s *orchard.Site) int {
	switch n := s.FeedSize; {
	case n <= 0:
		return orchard.DefaultFeedSize
	case n > 1000:
		return 1000
	default:
		return n
	}
}

// index validates and indexes the content: categories, published pages,
// assets, and what the menu, listings, feed and sitemap show.
func (r *Renderer) index(c *orchard.SiteContent) error {
	if _, err := orchard.NormalizeHost(c.Site.Host); err != nil {
		return err
	}
	for i := range c.Categories {
		cat := c.Categories[i]
		if err := cat.Validate(); err != nil {
			return orchard.Errorf(orchard.EINVALID, "Category %q: %s", cat.Path, orchard.ErrorMessage(err))
		}
		r.cats[cat.Path] = &cat
	}
	for i := range c.Pages {
		p := c.Pages[i]
		if !p.Published {
			continue
		}
		if err := p.Validate(); err != nil {
			return orchard.Errorf(orchard.EINVALID, "Page %q: %s", p.Path, orchard.ErrorMessage(err))
		}
		if r.lazy != nil && p.Digest == "" {
			return orchard.Errorf(orchard.EINVALID, "Page %q has no digest (content for NewLazy comes from Store.LoadSiteIndex).", p.Path)
		}
		p.Created, p.Updated = p.Created.UTC(), p.Updated.UTC()
		r.pages[p.Path] = &p
	}
	for i := range c.Assets {
		a := c.Assets[i]
		if err := a.Validate(); err != nil {
			return orchard.Errorf(orchard.EINVALID, "Asset %q: %s", a.Path, orchard.ErrorMessage(err))
		}
		r.assets[a.Path] = &a
	}

	// Posts, newest first, overall and per category.
	var posts []*orchard.Page
	for _, p := range r.pages {
		if p.Category != "" {
			posts = append(posts, p)
		}
	}
	sortNewest(posts)
	children := map[string][]*orchard.Category{}
	for _, cat := range r.cats {
		children[cat.Parent()] = append(children[cat.Parent()], cat)
	}
	for _, cs := range children {
		sortCategories(cs)
	}
	inCat := map[string][]*orchard.Page{}
	for _, p := range posts {
		inCat[p.Category] = append(inCat[p.Category], p)
	}
	for path := range r.cats {
		l := &listing{}
		for _, p := range inCat[path] {
			l.posts = append(l.posts, r.summary(p))
		}
		for _, sub := range children[path] {
			l.subs = append(l.subs, Link{Path: sub.Path, Title: sub.Title, Description: sub.Description})
		}
		r.listings[path] = l
	}
	home := &listing{}
	for i, p := range posts {
		if i == HomeSize {
			break
		}
		home.posts = append(home.posts, r.summary(p))
	}
	for _, top := range children[""] {
		home.subs = append(home.subs, Link{Path: top.Path, Title: top.Title, Description: top.Description})
	}
	r.listings["/"] = home

	// The section menu: home, top-level categories, top-level pages.
	r.menu = []Link{{Path: "/", Title: "Home"}}
	for _, top := range children[""] {
		r.menu = append(r.menu, Link{Path: top.Path, Title: top.Title})
	}
	var loose []*orchard.Page
	for _, p := range r.pages {
		if p.Category == "" && p.Path != "/" && orchard.ParentDir(p.Path) == "" {
			loose = append(loose, p)
		}
	}
	sort.Slice(loose, func(i, j int) bool {
		if !loose[i].Created.Equal(loose[j].Created) {
			return loose[i].Created.Before(loose[j].Created)
		}
		return loose[i].Path < loose[j].Path
	})
	for _, p := range loose {
		r.menu = append(r.menu, Link{Path: p.Path, Title: p.Title})
	}

	n := feedSize(&c.Site)
	if len(posts) < n {
		n = len(posts)
	}
	r.feed = posts[:n:n]
	return nil
}

// sortNewest orders pages by creation time, newest first, then by path.
func sortNewest(ps []*orchard.Page) {
	slices.SortFunc(ps, func(a, b *orchard.Page) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
}

// sortCategories orders sibling categories by Sort, then Title, then Path.
func sortCategories(cs []*orchard.Category) {
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Sort != b.Sort {
			return a.Sort < b.Sort
		}
		if a.Title != b.Title {
			return a.Title < b.Title
		}
		return a.Path < b.Path
	})
}

// summary is how a post appears in listings.
func (r *Renderer) summary(p *orchard.Page) Summary {
	return Summary{Path: p.Path, URL: r.site.URL + p.Path, Title: p.Title, Description: p.Description,
		Created: p.Created, Category: r.categoryLink(p.Category)}
}

// categoryLink links to the category at path, or nil when there is none.
func (r *Renderer) categoryLink(path string) *Link {
	cat, ok := r.cats[path]
	if !ok {
		return nil
	}
	return &Link{Path: cat.Path, Title: cat.Title, Description: cat.Description}
}

// ancestors returns path and every category above it, outermost first:
// "/a/b/" -> ["/a/", "/a/b/"]. path "" gives none.
func ancestors(path string) []string {
	var out []string
	for p := path; p != ""; p = orchard.ParentDir(p) {
		out = append(out, p)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// layoutFile names the template of a layout.
func layoutFile(layout string) string { return "layouts/" + layout + ".html" }

// buildOutputs lists every output with its deps, generated files first so
// that an asset never shadows a page.
func (r *Renderer) buildOutputs() {
	add := func(o *output) {
		if _, taken := r.byKey[o.Path]; taken {
			return
		}
		sort.Strings(o.Deps)
		o.Deps = compact(o.Deps)
		r.byKey[o.Path] = o
	}
	layoutDeps := map[string][]string{}
	common := func(layout string, more ...string) []string {
		td, ok := layoutDeps[layout]
		if !ok {
			td = r.ts.deps(layout)
			layoutDeps[layout] = td
		}
		d := make([]string, 0, 2+len(more)+len(td))
		d = append(d, "site", "menu")
		d = append(d, more...)
		return append(d, td...)
	}
	catDeps := func(path string) []string {
		var d []string
		for _, a := range ancestors(path) {
			d = append(d, "category:"+a)
		}
		return d
	}

	homeLayout := layoutFile(orchard.LayoutHome)
	if p, ok := r.pages["/"]; ok && p.Category == "" && p.Layout != orchard.LayoutPage && p.Layout != orchard.LayoutHome {
		homeLayout = layoutFile(p.Layout)
	}
	add(&output{Output: Output{Path: HomeKey, ContentType: TypeHTML, Deps: common(homeLayout, "page:/", "listing:/")},
		kind: kindHome, src: "/", layout: homeLayout})
	nf := layoutFile(orchard.Layout404)
	add(&output{Output: Output{Path: NotFoundKey, ContentType: TypeHTML, Deps: common(nf)}, kind: kindNotFound, layout: nf})
	add(&output{Output: Output{Path: SitemapKey, ContentType: TypeXML, Deps: []string{"site", "sitemap"}}, kind: kindSitemap})
	add(&output{Output: Output{Path: FeedKey, ContentType: TypeRSS, Deps: []string{"site", "feed"}}, kind: kindFeed})
	// Pages are most of the outputs: the deps every page of a layout and
	// category shares are made and sorted once, and each page's own key
	// put in its place; the pages go in path order, so that the outputs
	// need little sorting.
	type group struct{ layout, category string }
	type shared struct {
		lf   string
		deps []string // sorted, without duplicates
	}
	groups := map[group]*shared{}
	paths := make([]string, 0, len(r.pages))
	for path := range r.pages {
		if path != "/" {
			paths = append(paths, path)
		}
	}
	slices.Sort(paths)
	pageOuts := make([]output, len(paths))
	for i, path := range paths {
		p := r.pages[path]
		g := groups[group{p.Layout, p.Category}]
		if g == nil {
			lf := layoutFile(p.Layout)
			d := common(lf, catDeps(p.Category)...)
			slices.Sort(d)
			g = &shared{lf: lf, deps: slices.Compact(d)}
			groups[group{p.Layout, p.Category}] = g
		}
		own := "page:" + path
		deps := make([]string, 0, len(g.deps)+1)
		if j, found := slices.BinarySearch(g.deps, own); found {
			deps = append(deps, g.deps...)
		} else {
			deps = append(append(append(deps, g.deps[:j]...), own), g.deps[j:]...)
		}
		o := &pageOuts[i]
		*o = output{Output: Output{Path: orchard.ManifestKey(path), ContentType: TypeHTML, Deps: deps},
			kind: kindPage, src: path, layout: g.lf}
		if _, taken := r.byKey[o.Path]; !taken {
			r.byKey[o.Path] = o
		}
	}
	for path := range r.cats {
		lf := layoutFile(orchard.LayoutCategory)
		add(&output{Output: Output{Path: orchard.ManifestKey(path), ContentType: TypeHTML,
			Deps: common(lf, append(catDeps(path), "listing:"+path)...)}, kind: kindListing, src: path, layout: lf})
	}
	for path, a := range r.assets {
		if strings.HasPrefix(path, reservedPrefix) {
			continue
		}
		add(&output{Output: Output{Path: path, ContentType: a.ContentType, Deps: []string{"asset:" + path}}, kind: kindAsset, src: path})
	}
	// After the assets: a robots.txt of the site's own wins.
	add(&output{Output: Output{Path: RobotsKey, ContentType: TypeText, Deps: []string{"site"}}, kind: kindRobots})
	// Pages first, in path order, so that the sort has little to do.
	r.outputs = make([]Output, 0, len(r.byKey))
	for i := range pageOuts {
		if o := &pageOuts[i]; r.byKey[o.Path] == o {
			r.outputs = append(r.outputs, o.Output)
		}
	}
	for _, o := range r.byKey {
		if o.kind != kindPage {
			r.outputs = append(r.outputs, o.Output)
		}
	}
	slices.SortFunc(r.outputs, func(a, b Output) int { return strings.Compare(a.Path, b.Path) })
	r.sitemap = r.sitemapURLs()
}

// compact removes adjacent duplicates from a sorted slice.
func compact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// Outputs lists every file a release of the site holds, sorted by Path.
// The caller must not modify the result.
func (r *Renderer) Outputs() []Output { return r.outputs }

// Lookup returns the output with manifest key key.
func (r *Renderer) Lookup(key string) (Output, bool) {
	o, ok := r.byKey[key]
	if !ok {
		return Output{}, false
	}
	return o.Output, true
}

// Render renders one output by its manifest key (e.g.
// "/news/hello/index.html"): ENOTFOUND if the site has no such file;
// EINVALID, naming the page and the template (and line), when a template
// fails. The bytes of an asset are the asset's own and must not be modified.
func (r *Renderer) Render(key string) (b []byte, err error) {
	o, ok := r.byKey[key]
	if !ok {
		return nil, orchard.Errorf(orchard.ENOTFOUND, "%s is not a file of %s.", key, r.site.Host)
	}
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, orchard.Errorf(orchard.EINTERNAL, "Rendering %s failed: %v", key, p)
		}
	}()
	switch o.kind {
	case kindAsset:
		return r.assets[o.src].Data, nil
	case kindSitemap:
		return r.renderSitemap()
	case kindRobots:
		return r.renderRobots(), nil
	case kindFeed:
		return r.renderFeed()
	}
	d, err := r.data(o)
	if err != nil {
		return nil, err
	}
	if !r.ts.has(o.layout) {
		return nil, orchard.Errorf(orchard.EINVALID, "%s uses the layout %s, but the site has no such template.", r.what(o), o.layout)
	}
	var buf bytes.Buffer
	buf.Grow(16 << 10)
	if err := r.ts.execute(&buf, o.layout, d); err != nil {
		return nil, orchard.Errorf(orchard.EINVALID, "Rendering %s with %s: %s", r.what(o), o.layout,
			strings.TrimPrefix(err.Error(), "template: "))
	}
	return buf.Bytes(), nil
}

// what names an output in errors: "page /news/hello/", "category /news/".
func (r *Renderer) what(o *output) string {
	switch o.kind {
	case kindPage:
		return "page " + o.src
	case kindListing:
		return "category " + o.src
	case kindHome:
		return "the home page"
	default:
		return "the 404 page"
	}
}

// data builds what the templates of an HTML output see.
func (r *Renderer) data(o *output) (*Data, error) {
	d := &Data{Site: r.site, Layout: o.layout, Menu: r.menu, Breadcrumbs: []Link{{Path: "/", Title: "Home"}}}
	crumbs := func(catPath string) {
		for _, a := range ancestors(catPath) {
			if cat, ok := r.cats[a]; ok {
				d.Breadcrumbs = append(d.Breadcrumbs, Link{Path: cat.Path, Title: cat.Title})
			}
		}
	}
	switch o.kind {
	case kindPage:
		p := r.pages[o.src]
		pg, err := r.page(p)
		if err != nil {
			return nil, err
		}
		d.Page, d.Path, d.Title, d.Description = pg, p.Path, p.Title, p.Description
		d.Kind = orchard.LayoutPage
		if p.Category != "" {
			d.Kind = orchard.LayoutPost
			if cat, ok := r.cats[p.Category]; ok {
				d.Category = r.category(cat)
			}
		}
		crumbs(p.Category)
		d.Breadcrumbs = append(d.Breadcrumbs, Link{Title: p.Title})
	case kindListing:
		cat := r.cats[o.src]
		l := r.listings[o.src]
		d.Kind, d.Path, d.Title, d.Description = orchard.LayoutCategory, cat.Path, cat.Title, cat.Description
		d.Category, d.Posts, d.Subcategories = r.category(cat), l.posts, l.subs
		crumbs(orchard.ParentDir(cat.Path))
		d.Breadcrumbs = append(d.Breadcrumbs, Link{Title: cat.Title})
	case kindHome:
		l := r.listings["/"]
		d.Kind, d.Path, d.Title, d.Description = orchard.LayoutHome, "/", r.site.Title, r.site.Description
		d.Posts, d.Subcategories = l.posts, l.subs
		if p, ok := r.pages["/"]; ok {
			pg, err := r.page(p)
			if err != nil {
				return nil, err
			}
			d.Page = pg
			if p.Description != "" {
				d.Description = p.Description
			}
		}
		d.Breadcrumbs = []Link{{Title: "Home"}}
	case kindNotFound:
		d.Kind, d.Path, d.Title = orchard.Layout404, NotFoundKey, "Page not found"
		d.Breadcrumbs = append(d.Breadcrumbs, Link{Title: "Page not found"})
	}
	d.URL = r.site.URL + d.Path
	d.Section = r.section(d.Path)
	return d, nil
}

// section returns the menu entry a path belongs to: the home page, or the
// top-level menu path that prefixes it; "" when none does.
func (r *Renderer) section(path string) string {
	if path == "/" {
		return "/"
	}
	top := path
	if i := strings.IndexByte(path[1:], '/'); i >= 0 {
		top = path[:i+2]
	}
	for _, m := range r.menu {
		if m.Path == top && top != "/" {
			return top
		}
	}
	return ""
}

// page converts a published page for templates, rendering its body.
func (r *Renderer) page(p *orchard.Page) (*Page, error) {
	if r.lazy != nil {
		body, err := r.lazy.body(p)
		if err != nil {
			return nil, err
		}
		q := *p
		q.Body = body
		p = &q
	}
	html, err := bodyHTML(r.md, p)
	if err != nil {
		return nil, orchard.Errorf(orchard.EINVALID, "Page %s: %v", p.Path, err)
	}
	return &Page{Path: p.Path, URL: r.site.URL + p.Path, Title: p.Title, Description: p.Description,
		Layout: p.Layout, Content: html, Created: p.Created, Updated: p.Updated, Category: r.categoryLink(p.Category)}, nil
}

// category converts a category for templates.
func (r *Renderer) category(c *orchard.Category) *Category {
	return &Category{Path: c.Path, URL: r.site.URL + c.Path, Title: c.Title, Description: c.Description}
}

// Site returns the site settings templates see.
func (r *Renderer) Site() SiteInfo { return r.site }
