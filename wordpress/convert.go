package wordpress

import (
	"fmt"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	orchard "github.com/orchardhq/orchard"
)

// Options say how Convert builds the site.
type Options struct {
	// Host is the new site's host name.
	Host string
	// Uploads, when not nil, holds the old site's wp-content/uploads
	// directory: attachments are read from it. Nil reports them missing.
	Uploads fs.FS
}

// Report says what Convert did not carry over as it was.
type Report struct {
	Posts, Pages, Drafts, Categories, Assets int
	// Skipped lists items not imported, each with its reason.
	Skipped []string
	// Authors counts the imported pages by author display name: orchard
	// pages have no author.
	Authors map[string]int
	// Tags lists, per page path, the tags and further categories the page
	// had in WordPress: an orchard page has one category and no tags.
	Tags map[string][]string
	// Shortcodes counts the shortcodes left in place, by name, and
	// ShortcodePages names the pages holding them.
	Shortcodes     map[string]int
	ShortcodePages []string
	// Captions is how many [caption] shortcodes became <figure>.
	Captions int
	// Missing lists the attachment URLs not found in Uploads.
	Missing []string
	// Unmapped lists links to the old site that match no imported item.
	Unmapped []string
	// Moved maps old URL paths to new ones where they differ. Each
	// becomes a redirect of the site (orchard.Site.Redirects) unless
	// Skipped says why not (an old URL with a query, such as /?p=12,
	// cannot be one: nodes match the path only).
	Moved map[string]string
	// Redirects is how many redirects the site got.
	Redirects int
}

// Convert maps ex onto a new orchard site. The result has no templates or
// theme: the caller adds the defaults. It validates what it makes, so an
// error is an EINVALID *orchard.Error naming the item.
func Convert(ex *Export, opt Options) (*orchard.SiteContent, *Report, error) {
	c := &orchard.SiteContent{Site: orchard.Site{Host: opt.Host, Title: ex.Title, Description: ex.Description}}
	if strings.TrimSpace(c.Site.Title) == "" {
		c.Site.Title = opt.Host
	}
	if len(c.Site.Title) > 200 {
		c.Site.Title = c.Site.Title[:200]
	}
	rep := &Report{Authors: map[string]int{}, Tags: map[string][]string{}, Shortcodes: map[string]int{}, Moved: map[string]string{}}
	cv := &converter{ex: ex, opt: opt, c: c, rep: rep, links: map[string]string{}, used: map[string]bool{}}
	cv.oldHosts()
	cv.categories()
	cv.items()
	cv.attachments()
	cv.bodies()
	cv.redirects()
	slices.SortFunc(c.Categories, func(a, b orchard.Category) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(c.Pages, func(a, b orchard.Page) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(c.Assets, func(a, b orchard.Asset) int { return strings.Compare(a.Path, b.Path) })
	slices.Sort(rep.Missing)
	rep.Missing = slices.Compact(rep.Missing)
	slices.Sort(rep.Unmapped)
	rep.Unmapped = slices.Compact(rep.Unmapped)
	if err := c.Site.Validate(); err != nil {
		return nil, nil, err
	}
	for i := range c.Categories {
		if err := c.Categories[i].Validate(); err != nil {
			return nil, nil, orchard.Errorf(orchard.EINVALID, "category %s: %s", c.Categories[i].Path, orchard.ErrorMessage(err))
		}
	}
	for i := range c.Pages {
		if err := c.Pages[i].Validate(); err != nil {
			return nil, nil, orchard.Errorf(orchard.EINVALID, "page %s: %s", c.Pages[i].Path, orchard.ErrorMessage(err))
		}
	}
	return c, rep, nil
}

type converter struct {
	ex    *Export
	opt   Options
	c     *orchard.SiteContent
	rep   *Report
	hosts []string          // the old site's hosts
	links map[string]string // old path (or "?p=ID") -> new path
	used  map[string]bool   // paths taken by categories, pages and assets
	cats  map[string]string // category slug -> path
}

func (cv *converter) oldHosts() {
	for _, l := range cv.ex.Links {
		if u, err := url.Parse(l); err == nil && u.Host != "" && !slices.Contains(cv.hosts, strings.ToLower(u.Host)) {
			cv.hosts = append(cv.hosts, strings.ToLower(u.Host))
		}
	}
}

// categories makes the category tree: a category's path is its ancestors'
// slugs and its own.
func (cv *converter) categories() {
	bySlug := map[string]Term{}
	for _, t := range cv.ex.Categories {
		bySlug[t.Slug] = t
	}
	cv.cats = map[string]string{}
	var pathOf func(slug string, depth int) string
	pathOf = func(slug string, depth int) string {
		if p, ok := cv.cats[slug]; ok {
			return p
		}
		t, ok := bySlug[slug]
		if !ok || depth > 20 { // a missing parent or a loop: hang it at the top
			return "/"
		}
		parent := "/"
		if t.Parent != "" {
			parent = pathOf(t.Parent, depth+1)
		}
		p := parent + cleanSlug(t.Slug, "category") + "/"
		cv.cats[slug] = p
		return p
	}
	for _, t := range cv.ex.Categories {
		p := pathOf(t.Slug, 0)
		if cv.used[p] {
			continue
		}
		cv.used[p] = true
		title := strings.TrimSpace(t.Name)
		if title == "" {
			title = t.Slug
		}
		cv.c.Categories = append(cv.c.Categories, orchard.Category{Path: p, Title: title, Description: t.Description})
		cv.rep.Categories++
		cv.link("/category"+p, p)
	}
}

// link records that the old URL path old is now at new.
func (cv *converter) link(old, new string) {
	cv.links[old] = new
	if strings.TrimSuffix(old, "/") != strings.TrimSuffix(new, "/") && !strings.HasPrefix(old, "?") {
		cv.rep.Moved[old] = new
	}
}

// redirects gives every old URL that moved a redirect to its new path,
// except where the site now serves the old path itself, and reports the
// old URLs a redirect cannot carry.
func (cv *converter) redirects() {
	seen := map[string]bool{}
	for _, old := range slices.Sorted(maps.Keys(cv.rep.Moved)) {
		r := orchard.Redirect{From: old, To: cv.rep.Moved[old]}
		if err := r.Validate(); err != nil {
			cv.rep.Skipped = append(cv.rep.Skipped, fmt.Sprintf("redirect from %s: %s", old, orchard.ErrorMessage(err)))
			continue
		}
		if cv.used[r.From] || cv.used[strings.TrimSuffix(r.From, "/")+"/"] || seen[r.From] {
			continue // the site serves the old path (or it was given already)
		}
		seen[r.From] = true
		cv.c.Site.Redirects = append(cv.c.Site.Redirects, r)
	}
	cv.rep.Redirects = len(cv.c.Site.Redirects)
}

// items makes a page of every post and page worth importing.
func (cv *converter) items() {
	byID := map[string]*Item{}
	for i := range cv.ex.Items {
		byID[cv.ex.Items[i].ID] = &cv.ex.Items[i]
	}
	for i := range cv.ex.Items {
		it := &cv.ex.Items[i]
		if it.Type != "post" && it.Type != "page" {
			if it.Type != "attachment" {
				cv.rep.Skipped = append(cv.rep.Skipped, fmt.Sprintf("%s %q (%s): not a post or page", it.Type, it.Title, it.ID))
			}
			continue
		}
		switch it.Status {
		case "trash", "auto-draft", "inherit":
			cv.rep.Skipped = append(cv.rep.Skipped, fmt.Sprintf("%s %q (%s): %s", it.Type, it.Title, it.ID, it.Status))
			continue
		}
		p := orchard.Page{Title: strings.TrimSpace(it.Title), Format: orchard.FormatHTML, Published: it.Status == "publish",
			Description: excerpt(it.Excerpt)}
		if p.Title == "" {
			p.Title = "Untitled " + it.ID
		}
		if len(p.Title) > 200 {
			p.Title = p.Title[:200]
		}
		slug := cleanSlug(it.Slug, "")
		if slug == "" {
			slug = cleanSlug(it.Title, it.Type+"-"+it.ID)
		}
		dir := "/"
		if it.Type == "post" {
			if len(it.Categories) > 0 {
				if cp, ok := cv.cats[it.Categories[0]]; ok {
					p.Category, dir = cp, cp
				}
			}
		} else {
			dir = cv.pageDir(it, byID)
		}
		p.Path = dir + slug + "/"
		for n := 2; cv.used[p.Path]; n++ {
			p.Path = fmt.Sprintf("%s%s-%d/", dir, slug, n)
		}
		cv.used[p.Path] = true
		p.Created = wpTime(it.DateGMT, it.Date, it.PubDate)
		p.Updated = wpTime(it.ModifiedGMT, "", "")
		if p.Updated.IsZero() {
			p.Updated = p.Created
		}
		if it.Type == "post" {
			cv.rep.Posts++
		} else {
			cv.rep.Pages++
		}
		if !p.Published {
			cv.rep.Drafts++
		}
		if name := cv.ex.Authors[it.Creator]; name != "" {
			cv.rep.Authors[name]++
		} else if it.Creator != "" {
			cv.rep.Authors[it.Creator]++
		}
		var extra []string
		if len(it.Categories) > 1 {
			for _, s := range it.Categories[1:] {
				extra = append(extra, "category:"+s)
			}
		}
		for _, s := range it.Tags {
			extra = append(extra, "tag:"+s)
		}
		if extra != nil {
			cv.rep.Tags[p.Path] = extra
		}
		if u, err := url.Parse(it.Link); err == nil && u.Path != "" {
			old := u.Path
			if u.RawQuery != "" {
				old += "?" + u.RawQuery
			}
			cv.link(old, p.Path)
		}
		cv.links["?p="+it.ID] = p.Path
		cv.links["?page_id="+it.ID] = p.Path
		p.Body = it.Content
		cv.c.Pages = append(cv.c.Pages, p)
	}
}

// pageDir is the directory of a WordPress page: its parent pages' slugs.
func (cv *converter) pageDir(it *Item, byID map[string]*Item) string {
	var slugs []string
	for parent, n := byID[it.Parent], 0; parent != nil && parent.Type == "page" && n < 20; parent, n = byID[parent.Parent], n+1 {
		slugs = append(slugs, cleanSlug(parent.Slug, "page-"+parent.ID))
	}
	slices.Reverse(slugs)
	if len(slugs) == 0 {
		return "/"
	}
	return "/" + strings.Join(slugs, "/") + "/"
}

// attachments reads every attachment from Uploads, or reports it missing.
func (cv *converter) attachments() {
	for _, it := range cv.ex.Items {
		if it.Type != "attachment" || it.AttachmentURL == "" {
			continue
		}
		cv.upload(it.AttachmentURL)
	}
}

// upload imports the upload at rawURL once, returning its new path, or ""
// when it is not in Uploads (reported missing).
func (cv *converter) upload(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	_, rel, ok := strings.Cut(u.Path, "/wp-content/uploads/")
	if !ok || cv.opt.Uploads == nil || !fs.ValidPath(rel) {
		cv.rep.Missing = append(cv.rep.Missing, rawURL)
		return ""
	}
	p := "/uploads/" + strings.ToLower(rel)
	if err := orchard.ValidateContentPath(p, false); err != nil {
		cv.rep.Missing = append(cv.rep.Missing, rawURL+" (its name cannot be an orchard path)")
		return ""
	}
	if cv.used[p] {
		return p
	}
	data, err := fs.ReadFile(cv.opt.Uploads, rel)
	if err != nil || len(data) > orchard.MaxAssetLen {
		cv.rep.Missing = append(cv.rep.Missing, rawURL)
		return ""
	}
	ct := mime.TypeByExtension(path.Ext(p))
	if ct == "" {
		ct = http.DetectContentType(data)
	}
	cv.used[p] = true
	cv.c.Assets = append(cv.c.Assets, orchard.Asset{Path: p, ContentType: ct, Data: data})
	cv.rep.Assets++
	return p
}

// bodies converts the pages' HTML once every path is known.
func (cv *converter) bodies() {
	for i := range cv.c.Pages {
		p := &cv.c.Pages[i]
		body, captions := convertCaptions(p.Body)
		cv.rep.Captions += captions
		body = autop(body)
		body = cv.rewriteLinks(body)
		if names := shortcodes(body); len(names) > 0 {
			for _, n := range names {
				cv.rep.Shortcodes[n]++
			}
			cv.rep.ShortcodePages = append(cv.rep.ShortcodePages, p.Path)
		}
		p.Body = body
	}
}

// excerpt makes a description of an excerpt: text, at most 1000 bytes.
func excerpt(s string) string {
	s = strings.Join(strings.Fields(stripTags(s)), " ")
	if len(s) > 1000 {
		s = strings.ToValidUTF8(s[:997], "") + "..."
	}
	return s
}

// wpTime reads the first usable of a GMT "2006-01-02 15:04:05" date, a
// site-time one (taken as UTC) and an RFC 1123 one; WordPress writes
// "0000-00-00 00:00:00" for drafts never published.
func wpTime(gmt, local, rfc string) time.Time {
	for _, s := range []string{gmt, local} {
		if t, err := time.Parse(time.DateTime, s); err == nil && t.Year() > 1 {
			return t.UTC()
		}
	}
	if t, err := time.Parse(time.RFC1123Z, rfc); err == nil {
		return t.UTC()
	}
	return time.Time{}
}

// cleanSlug is orchard.Slug, or fallback when nothing is left: WordPress
// slugs may be percent-encoded UTF-8, which orchard paths cannot hold.
func cleanSlug(s, fallback string) string {
	if out := orchard.Slug(s); out != "" {
		return out
	}
	return fallback
}
