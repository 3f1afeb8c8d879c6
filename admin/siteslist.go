package admin

import (
	"net/url"
	"strconv"
	"strings"

	orchard "github.com/orchardhq/orchard"
)

// sitesPerPage bounds the sites list: a cluster of thousands of sites
// shows them a page at a time, with a search.
const sitesPerPage = 50

// sitesList is one page of the sites list, for sites.html.
type sitesList struct {
	Sites        []*orchard.Site
	Query        string
	Page, Pages  int
	Total, Shown int // sites matching the query, of all sites
	Prev, Next   string
}

// matchSite reports whether q (already lower case) is part of the site's
// host, one of its aliases or its title.
func matchSite(s *orchard.Site, q string) bool {
	if q == "" || strings.Contains(s.Host, q) || strings.Contains(strings.ToLower(s.Title), q) {
		return true
	}
	for _, a := range s.Aliases {
		if strings.Contains(a, q) {
			return true
		}
	}
	return false
}

// pageOfSites filters sites by the query q and returns page (1-based,
// clamped to the pages there are).
func pageOfSites(sites []*orchard.Site, q string, page int) *sitesList {
	q = strings.TrimSpace(q)
	lq := strings.ToLower(q)
	matched := sites[:0:0]
	for _, s := range sites {
		if matchSite(s, lq) {
			matched = append(matched, s)
		}
	}
	l := &sitesList{Query: q, Total: len(sites), Shown: len(matched)}
	l.Pages = max(1, (len(matched)+sitesPerPage-1)/sitesPerPage)
	l.Page = min(max(page, 1), l.Pages)
	from := (l.Page - 1) * sitesPerPage
	l.Sites = matched[from:min(from+sitesPerPage, len(matched))]
	link := func(p int) string {
		v := url.Values{}
		if q != "" {
			v.Set("q", q)
		}
		if p > 1 {
			v.Set("page", strconv.Itoa(p))
		}
		if len(v) == 0 {
			return "/"
		}
		return "/?" + v.Encode()
	}
	if l.Page > 1 {
		l.Prev = link(l.Page - 1)
	}
	if l.Page < l.Pages {
		l.Next = link(l.Page + 1)
	}
	return l
}
