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
// satisfies it. Each method returns an ENOTFOUND *orchard.Error for an
// unknown site.
type SiteLoader interface {
	// SiteVersion returns the canonical host of the site whose host or
	// alias is host, and its content version.
	SiteVersion(ctx context.Context, host string) (string, int64, error)
	// LoadSiteIndex reads a site's content without page bodies.
	LoadSiteIndex(ctx context.Context, host string) (*orchard.SiteContent, error)
	// PageBodies reads the bodies of the pages at paths.
	PageBodies(ctx context.Context, host string, paths []string) (map[string]orchard.PageBody, error)
}

// DefaultMaxCacheBytes bounds the rendered files a SiteHandler keeps of
// each site.
const DefaultMaxCacheBytes = 16 << 20

// DefaultMaxSites bounds the sites a SiteHandler keeps renderers of.
const DefaultMaxSites = 64

// ReleaseDynamic is the X-Orchard-Release value of dynamic responses.
const ReleaseDynamic = "dynamic"

// maxAttempts bounds how often one request starts again when the site
// changed while its page was being rendered.
const maxAttempts = 3

// SiteHandler is the http.Handler of the master's site traffic. It is safe
// for concurrent use.
type SiteHandler struct {
	store  SiteLoader
	logger *slog.Logger
	// MaxCacheBytes bounds the rendered files kept of each site, in bytes
	// (default DefaultMaxCacheBytes; negative keeps none); the least
	// recently served go first. Set it before serving.
	MaxCacheBytes int64
	// MaxSites bounds how many sites' renderers and files are kept
	// (default DefaultMaxSites); the least recently served site goes
	// first. Set it before serving.
	MaxSites int

	tick  atomic.Int64 // counts requests, to order sites by last use
	mu    sync.Mutex
	sites map[string]*siteSlot // by canonical host
}

// NewSiteHandler returns a handler that serves the sites of store. A nil
// logger discards logs.
func NewSiteHandler(store SiteLoader, logger *slog.Logger) *SiteHandler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &SiteHandler{store: store, logger: logger, sites: make(map[string]*siteSlot)}
}

// ServeHTTP serves one request; see the package documentation for the rules.
func (h *SiteHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(orchard.ReleaseHeader, ReleaseDynamic)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		plain(w, r, http.StatusMethodNotAllowed, "405 method not allowed")
		return
	}
	host, err := orchard.NormalizeHost(r.Host)
	if err != nil {
		plain(w, r, http.StatusNotFound, "404 no site is served at this address")
		return
	}
	clean, err := orchard.CleanRequestPath(r.URL.EscapedPath())
	if err != nil {
		plain(w, r, http.StatusBadRequest, "400 bad request path")
		return
	}
	for attempt := 1; ; attempt++ {
		err := h.serveOnce(w, r, host, clean)
		if err == nil {
			return
		}
		if orchard.ErrorCode(err) == orchard.ECONFLICT && attempt < maxAttempts {
			continue // a page changed after the site's index was read
		}
		h.logger.Error("render", "site", host, "path", r.URL.EscapedPath(), "err", err)
		plain(w, r, http.StatusInternalServerError, "500 the page could not be rendered")
		return
	}
}

// serveOnce answers the request from the site's renderer for its current
// content version. It returns, without answering, the error of a page
// that could not be rendered; the caller answers it.
func (h *SiteHandler) serveOnce(w http.ResponseWriter, r *http.Request, host, clean string) error {
	ctx := r.Context()
	site, v, err := h.store.SiteVersion(ctx, host)
	if err != nil {
		if orchard.ErrorCode(err) == orchard.ENOTFOUND {
			h.forget(host)
			plain(w, r, http.StatusNotFound, "404 no site is served at this address")
			return nil
		}
		h.fail(w, r, host, "site version", err)
		return nil
	}
	e, err := h.entry(ctx, site, v)
	if err != nil {
		if orchard.ErrorCode(err) == orchard.ENOTFOUND { // dropped since
			plain(w, r, http.StatusNotFound, "404 no site is served at this address")
			return nil
		}
		h.fail(w, r, site, "load site", err)
		return nil
	}
	key := orchard.ManifestKey(clean)
	if out, ok := e.r.Lookup(key); ok {
		return h.serve(w, r, e, out, http.StatusOK)
	}
	if !strings.HasSuffix(clean, "/") {
		if _, ok := e.r.Lookup(clean + "/index.html"); ok {
			loc := (&url.URL{Path: clean + "/", RawQuery: r.URL.RawQuery}).String()
			w.Header().Set("Location", loc)
			plain(w, r, http.StatusMovedPermanently, "301 moved permanently")
			return nil
		}
	}
	if out, ok := e.r.Lookup(render.NotFoundKey); ok {
		return h.serve(w, r, e, out, http.StatusNotFound)
	}
	plain(w, r, http.StatusNotFound, "404 page not found")
	return nil
}

// serve writes one rendered output with the given status. A render error
// on the site's 404 page falls back to a plain 404; another is returned
// unanswered (ECONFLICT: the page changed since the index was read).
func (h *SiteHandler) serve(w http.ResponseWriter, r *http.Request, e *siteEntry, out render.Output, status int) error {
	body, err := h.render(e, out.Path)
	if err != nil {
		if status == http.StatusNotFound && orchard.ErrorCode(err) != orchard.ECONFLICT {
			h.logger.Error("render", "site", e.host, "path", out.Path, "err", err)
			plain(w, r, http.StatusNotFound, "404 page not found")
			return nil
		}
		return err
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
	return nil
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
