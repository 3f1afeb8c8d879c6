package render

import (
	"bytes"
	"encoding/xml"
	"slices"
	"strings"
	"time"

	orchard "github.com/orchardhq/orchard"
)

// sitemapURL is one <url> of sitemap.xml.
type sitemapURL struct {
	Loc     string `xml:"loc"`
	Lastmod string `xml:"lastmod,omitempty"`
}

type sitemapDoc struct {
	XMLName xml.Name     `xml:"urlset"`
	NS      string       `xml:"xmlns,attr"`
	URLs    []sitemapURL `xml:"url"`
}

// w3cTime formats a time for sitemaps; zero gives "".
func w3cTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// latest returns the latest of the times.
func latest(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// sitemapURLs lists the home page, every listing and every published page,
// sorted by URL, with the time each last changed as far as the content
// tells: a page's update, a listing's newest post or own update.
func (r *Renderer) sitemapURLs() []sitemapURL {
	out := make([]sitemapURL, 0, len(r.byKey))
	// In the outputs' (nearly the URLs') order, so that the sort has
	// little to do.
	for _, oo := range r.outputs {
		o := r.byKey[oo.Path]
		var mod time.Time
		switch o.kind {
		case kindHome:
			if p, ok := r.pages["/"]; ok {
				mod = p.Updated
			}
			for _, s := range r.listings["/"].posts {
				mod = latest(mod, s.Created)
			}
		case kindListing:
			mod = r.cats[o.src].Updated
			for _, s := range r.listings[o.src].posts {
				mod = latest(mod, s.Created)
			}
		case kindPage:
			mod = r.pages[o.src].Updated
		default:
			continue
		}
		out = append(out, sitemapURL{Loc: r.site.URL + o.src, Lastmod: w3cTime(mod)})
	}
	slices.SortFunc(out, func(a, b sitemapURL) int { return strings.Compare(a.Loc, b.Loc) })
	return out
}

// renderSitemap writes sitemap.xml.
// renderRobots is the default robots.txt: everything may be crawled, and
// the sitemap is named so that crawlers find every page.
func (r *Renderer) renderRobots() []byte {
	return []byte("User-agent: *\nAllow: /\n\nSitemap: " + r.site.URL + SitemapKey + "\n")
}

func (r *Renderer) renderSitemap() ([]byte, error) {
	return marshalXML(sitemapDoc{NS: "http://www.sitemaps.org/schemas/sitemap/0.9", URLs: r.sitemap})
}

type rssDoc struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Atom    string     `xml:"xmlns:atom,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title       string    `xml:"title"`
	Link        string    `xml:"link"`
	Description string    `xml:"description"`
	Self        rssSelf   `xml:"atom:link"`
	PubDate     string    `xml:"pubDate,omitempty"`
	Generator   string    `xml:"generator"`
	Items       []rssItem `xml:"item"`
}

type rssSelf struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
}

type rssItem struct {
	Title       string  `xml:"title"`
	Link        string  `xml:"link"`
	GUID        rssGUID `xml:"guid"`
	PubDate     string  `xml:"pubDate,omitempty"`
	Description string  `xml:"description,omitempty"`
	Category    string  `xml:"category,omitempty"`
}

type rssGUID struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

// rssTime formats a time for RSS 2.0 (RFC 822 with a four-digit year).
func rssTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC1123Z)
}

// feedItems are the feed's items: the newest FeedSize posts.
func (r *Renderer) feedItems() []rssItem {
	items := make([]rssItem, 0, len(r.feed))
	for _, p := range r.feed {
		it := rssItem{Title: p.Title, Link: r.site.URL + p.Path, GUID: rssGUID{IsPermaLink: "true", Value: r.site.URL + p.Path},
			PubDate: rssTime(p.Created), Description: p.Description}
		if c := r.categoryLink(p.Category); c != nil {
			it.Category = c.Title
		}
		items = append(items, it)
	}
	return items
}

// renderFeed writes the RSS 2.0 feed. Its date is the newest post's, never
// the time of the build.
func (r *Renderer) renderFeed() ([]byte, error) {
	desc := r.site.Description
	if desc == "" {
		desc = r.site.Title
	}
	ch := rssChannel{
		Title: r.site.Title, Link: r.site.URL + "/", Description: desc,
		Self:      rssSelf{Href: r.site.URL + FeedKey, Rel: "self", Type: "application/rss+xml"},
		Generator: "orchard",
		Items:     r.feedItems(),
	}
	if len(r.feed) > 0 {
		ch.PubDate = rssTime(r.feed[0].Created)
	}
	return marshalXML(rssDoc{Version: "2.0", Atom: "http://www.w3.org/2005/Atom", Channel: ch})
}

// marshalXML writes an indented XML document with its declaration.
func marshalXML(v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, orchard.Errorf(orchard.EINTERNAL, "Writing XML failed: %v", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
