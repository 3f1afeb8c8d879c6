package master

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/render"
)

// SiteLoader is what the handler reads from the store; orchard.Store
// satisfies it. Both methods return an ENOTFOUND *orchard.Error for an
// unknown site.
type SiteLoader interface {
	// LookupHost returns the site whose host or alias is host.
	LookupHost(ctx context.Context, host string) (*orchard.Site, error)
	// LoadSite reads all of a site's content in one snapshot.
	LoadSite(ctx context.Context, host string) (*orchard.SiteContent, error)
}

// DefaultMaxCacheBytes bounds the rendered files a SiteHandler keeps.
const DefaultMaxCacheBytes = 64 << 20

// ReleaseDynamic is the X-Orchard-Release value of dynamic responses.
const ReleaseDynamic = "dynamic"

// SiteHandler is the http.Handler of the master's site traffic. It is safe
// for concurrent use.
type SiteHandler struct {
	store  SiteLoader
	logger *slog.Logger
	// MaxCacheBytes bounds the rendered files kept across all sites, in
	// bytes (default DefaultMaxCacheBytes; negative keeps none). Set it
	// before serving.
	MaxCacheBytes int64

	mu     sync.Mutex
	sites  map[string]*siteEntry // by canonical host
	cached atomic.Int64          // bytes of rendered files kept
}

// NewSiteHandler returns a handler that serves the sites of store. A nil
// logger discards logs.
func NewSiteHandler(store SiteLoader, logger *slog.Logger) *SiteHandler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &SiteHandler{store: store, logger: logger, MaxCacheBytes: DefaultMaxCacheBytes, sites: make(map[string]*siteEntry)}
}

// ServeHTTP serves one request; see the package documentation for the rules.
func (h *SiteHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(orchard.ReleaseHeader, ReleaseDynamic)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		plain(w, r, http.StatusMethodNotAllowed, "405 method not allowed")
		return
	}
	ctx := r.Context()
	host, err := orchard.NormalizeHost(r.Host)
	if err != nil {
		plain(w, r, http.StatusNotFound, "404 no site is served at this address")
		return
	}
	site, err := h.store.LookupHost(ctx, host)
	if err != nil {
		if orchard.ErrorCode(err) == orchard.ENOTFOUND {
			h.forget(host)
			plain(w, r, http.StatusNotFound, "404 no site is served at this address")
			return
		}
		h.fail(w, r, host, "look up host", err)
		return
	}
	clean, err := orchard.CleanRequestPath(r.URL.EscapedPath())
	if err != nil {
		plain(w, r, http.StatusBadRequest, "400 bad request path")
		return
	}
	e, err := h.entry(ctx, site.Host)
	if err != nil {
		if orchard.ErrorCode(err) == orchard.ENOTFOUND { // dropped since the lookup
			plain(w, r, http.StatusNotFound, "404 no site is served at this address")
			return
		}
		h.fail(w, r, site.Host, "load site", err)
		return
	}
	key := orchard.ManifestKey(clean)
	if out, ok := e.r.Lookup(key); ok {
		h.serve(w, r, e, out, http.StatusOK)
		return
	}
	if !strings.HasSuffix(clean, "/") {
		if _, ok := e.r.Lookup(clean + "/index.html"); ok {
			loc := (&url.URL{Path: clean + "/", RawQuery: r.URL.RawQuery}).String()
			w.Header().Set("Location", loc)
			plain(w, r, http.StatusMovedPermanently, "301 moved permanently")
			return
		}
	}
	if out, ok := e.r.Lookup(render.NotFoundKey); ok {
		h.serve(w, r, e, out, http.StatusNotFound)
		return
	}
	plain(w, r, http.StatusNotFound, "404 page not found")
}

// serve writes one rendered output with the given status. A render error
// on the site's 404 page falls back to a plain 404.
func (h *SiteHandler) serve(w http.ResponseWriter, r *http.Request, e *siteEntry, out render.Output, status int) {
	body, err := h.render(e, out.Path)
	if err != nil {
		h.logger.Error("render", "site", e.host, "path", out.Path, "err", err)
		if status == http.StatusNotFound {
			plain(w, r, http.StatusNotFound, "404 page not found")
			return
		}
		plain(w, r, http.StatusInternalServerError, "500 the page could not be rendered")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", out.ContentType)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// fail answers 500 and logs why, without telling the client.
func (h *SiteHandler) fail(w http.ResponseWriter, r *http.Request, host, what string, err error) {
	h.logger.Error(what, "site", host, "path", r.URL.EscapedPath(), "err", err)
	plain(w, r, http.StatusInternalServerError, "500 internal error")
}

// plain writes a short plain-text response.
func plain(w http.ResponseWriter, r *http.Request, status int, msg string) {
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(len(msg)+1))
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(msg + "\n"))
	}
}
