package node

import (
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/orchardhq/orchard"
)

// addRedirects routes the old paths of the site's redirects (from the
// release's settings, so validated and clean) to a 301. A path the
// release serves, or its slash redirect, wins: content is never hidden by
// a redirect. A From that names a directory ("/old/", or "/old" with no
// dot in its last segment) answers in each of its forms: "/old",
// "/old/" and "/old/index.html".
func (st *site) addRedirects(rs []orchard.Redirect) {
	for _, r := range rs {
		// Routes are keyed by the decoded path a request cleans to.
		from, err := orchard.CleanRequestPath(r.From)
		if err != nil {
			continue // ParseSettings refused such a release already
		}
		loc := []byte(r.To)
		add := func(k string) {
			if _, exists := st.find([]byte(k)); !exists {
				if st.redirects == nil {
					st.redirects = map[string][]byte{}
				}
				st.redirects[k] = loc
			}
		}
		dir := strings.TrimSuffix(from, "/")
		last := dir[strings.LastIndexByte(dir, '/')+1:]
		if dir == "" || (!strings.HasSuffix(from, "/") && strings.Contains(last, ".")) {
			add(from)
			continue
		}
		add(dir)
		add(dir + "/")
		add(dir + "/index.html")
	}
}

// siteRedirect answers a site redirect: 301 to loc, cached as the site's
// pages are (the redirect changes only with a new release).
func siteRedirect(ctx *fasthttp.RequestCtx, s *site, loc []byte) {
	resp := &ctx.Response.Header
	resp.SetCanonical(hLocation, loc)
	resp.SetCanonical(hCacheControl, s.cacheControl)
	plain(ctx, fasthttp.StatusMovedPermanently, "Moved Permanently\n")
}
