package node

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

// Header names and values, as byte slices so the hot path copies bytes and
// never allocates.
var (
	hRelease        = []byte(orchard.ReleaseHeader)
	hCacheControl   = []byte("Cache-Control")
	hLastModified   = []byte("Last-Modified")
	hETag           = []byte("ETag")
	hVary           = []byte("Vary")
	hAcceptEncoding = []byte("Accept-Encoding")
	hContentEnc     = []byte("Content-Encoding")
	hAcceptRanges   = []byte("Accept-Ranges")
	hContentRange   = []byte("Content-Range")
	hRetryAfter     = []byte("Retry-After")
	hAllow          = []byte("Allow")
	hLocation       = []byte("Location")
	hINM            = []byte("If-None-Match")
	hIMS            = []byte("If-Modified-Since")
	hRange          = []byte("Range")
	hIfRange        = []byte("If-Range")
	hContentType    = []byte("Content-Type")
	hNoSniff        = []byte("X-Content-Type-Options")
	vGzip           = []byte("gzip")
	vBytes          = []byte("bytes")
	vNone           = []byte("none")
	vGetHead        = []byte("GET, HEAD")
	vRetryAfter     = []byte(RetryAfter)
	vTextPlain      = []byte("text/plain; charset=utf-8")
	vNoStore        = []byte("no-store")
	vNoSniff        = []byte("nosniff")
)

// serve is the traffic handler: Host -> site, path -> manifest entry, then
// the blob with every HTTP rule of a static file server.
func (n *Node) serve(ctx *fasthttp.RequestCtx) {
	req := &ctx.Request.Header
	resp := &ctx.Response.Header
	// Every response: a browser must never guess another type than the
	// one the release names (an upload sniffed as HTML would run script).
	resp.SetCanonical(hNoSniff, vNoSniff)
	s := n.lookupHostWaiting(req.Host())
	defer n.metrics.observe(ctx, s)
	if s == nil {
		plain(ctx, fasthttp.StatusNotFound, "Not Found\n")
		return
	}
	if s.id == "" {
		resp.SetCanonical(hRetryAfter, vRetryAfter)
		resp.SetCanonical(hCacheControl, vNoStore)
		plain(ctx, fasthttp.StatusServiceUnavailable, "This site has no release yet.\n")
		return
	}
	resp.SetCanonical(hRelease, s.idHeader)
	if !req.IsGet() && !req.IsHead() {
		resp.SetCanonical(hAllow, vGetHead)
		plain(ctx, fasthttp.StatusMethodNotAllowed, "Method Not Allowed\n")
		return
	}
	uri := req.RequestURI()
	r, clean, found, bad := s.lookup(uri)
	switch {
	case bad:
		plain(ctx, fasthttp.StatusBadRequest, "Bad Request\n")
	case !found:
		n.notFound(ctx, s)
	case r.location != nil:
		siteRedirect(ctx, s, r.location)
	case r.redirect:
		loc := make([]byte, 0, len(clean)+1+len(uri))
		loc = append(append(loc, clean...), '/')
		if i := bytes.IndexByte(uri, '?'); i >= 0 {
			loc = append(loc, uri[i:]...)
		}
		resp.SetCanonical(hLocation, loc)
		resp.SetCanonical(hCacheControl, s.cacheControl)
		plain(ctx, fasthttp.StatusMovedPermanently, "Moved Permanently\n")
	default:
		n.file(ctx, s, r.e)
	}
}

// serveError answers a request fasthttp could not read, as its default
// handler does, with the nosniff header every node response carries.
func serveError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var netErr *net.OpError
	switch {
	case errors.As(err, &small):
		ctx.Error("Too big request header", fasthttp.StatusRequestHeaderFieldsTooLarge)
	case errors.As(err, &netErr) && netErr.Timeout():
		ctx.Error("Request timeout", fasthttp.StatusRequestTimeout)
	default:
		ctx.Error("Error when parsing request", fasthttp.StatusBadRequest)
	}
	ctx.Response.Header.SetCanonical(hNoSniff, vNoSniff)
}

// lookupHost finds the site of a Host header through orchard.HostKey, the
// balancer's rule too (no allocation for a lower-case name with an
// optional port). A host is only ever a map key, never a file name.
func (n *Node) lookupHost(h []byte) *site {
	key, ok := orchard.HostKey(h)
	if !ok {
		return nil
	}
	sl := n.hosts.Load().get(key)
	if sl == nil {
		return nil
	}
	return sl.site.Load()
}

// file serves entry e of site s with status 200: conditional requests,
// Range for non-HTML, gzip when accepted.
func (n *Node) file(ctx *fasthttp.RequestCtx, s *site, e *entry) {
	req := &ctx.Request.Header
	resp := &ctx.Response.Header
	n.commonHeaders(resp, s, e)
	rangeHdr := []byte(nil)
	if e.kind.ranges {
		resp.SetCanonical(hAcceptRanges, vBytes)
		rangeHdr = req.PeekBytes(hRange)
	}
	gz := e.gz != nil && len(rangeHdr) == 0 && orchard.AcceptsGzip(req.PeekBytes(hAcceptEncoding))
	tagged := e.body
	if gz {
		tagged = e.gz
	}
	var tag [etagLen]byte
	etag := tagged.etag(&tag)
	resp.SetCanonical(hETag, etag)
	if notModified(req, etag, s) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	if gz {
		resp.SetCanonical(hContentEnc, vGzip)
		n.body(ctx, e.gz, 0, -1)
		return
	}
	// Not gzip from here on: etag is the body's.
	if len(rangeHdr) > 0 && ifRangeHolds(req.PeekBytes(hIfRange), etag, s) {
		start, end, ok, unsat := parseRange(rangeHdr, e.body.size())
		if unsat {
			resp.SetCanonical(hContentRange, []byte("bytes */"+strconv.FormatInt(e.body.size(), 10)))
			resp.SetCanonical(hContentType, vTextPlain)
			ctx.SetStatusCode(fasthttp.StatusRequestedRangeNotSatisfiable)
			return
		}
		if ok {
			resp.SetCanonical(hContentRange, []byte("bytes "+strconv.FormatInt(start, 10)+"-"+
				strconv.FormatInt(end, 10)+"/"+strconv.FormatInt(e.body.size(), 10)))
			ctx.SetStatusCode(fasthttp.StatusPartialContent)
			n.body(ctx, e.body, start, end+1)
			return
		}
	}
	n.body(ctx, e.body, 0, -1)
}

// commonHeaders sets what every response for a file carries.
func (n *Node) commonHeaders(resp *fasthttp.ResponseHeader, s *site, e *entry) {
	resp.SetCanonical(hContentType, e.kind.contentType)
	resp.SetCanonical(hCacheControl, s.cacheControl)
	resp.SetCanonical(hLastModified, s.lastModified)
	if e.gz != nil {
		resp.SetCanonical(hVary, hAcceptEncoding)
	}
}

// notFound serves the site's 404 page (gzip when accepted) with status 404.
func (n *Node) notFound(ctx *fasthttp.RequestCtx, s *site) {
	e := s.notFound
	if e == nil {
		plain(ctx, fasthttp.StatusNotFound, "Not Found\n")
		return
	}
	resp := &ctx.Response.Header
	n.commonHeaders(resp, s, e)
	ctx.SetStatusCode(fasthttp.StatusNotFound)
	if e.gz != nil && orchard.AcceptsGzip(ctx.Request.Header.PeekBytes(hAcceptEncoding)) {
		resp.SetCanonical(hContentEnc, vGzip)
		n.body(ctx, e.gz, 0, -1)
		return
	}
	n.body(ctx, e.body, 0, -1)
}

// body sends bytes [start, end) of blob b (end -1: to the end), from the
// hot cache or streamed from disk.
func (n *Node) body(ctx *fasthttp.RequestCtx, b *blob, start, end int64) {
	if end < 0 {
		end = b.size()
	}
	data, err := n.cache.get(b)
	if err != nil {
		n.log.Error("read blob", "sha", b.sha(), "err", err)
		ctx.Response.Header.Del("Content-Encoding")
		plain(ctx, fasthttp.StatusInternalServerError, "Internal Server Error\n")
		return
	}
	if data != nil {
		if end > int64(len(data)) {
			end = int64(len(data))
		}
		ctx.Response.SetBodyRaw(data[start:end])
		return
	}
	r, err := n.cache.src.Open(b.sha())
	if err != nil {
		n.log.Error("open blob", "sha", b.sha(), "err", err)
		ctx.Response.Header.Del("Content-Encoding")
		plain(ctx, fasthttp.StatusInternalServerError, "Internal Server Error\n")
		return
	}
	ctx.Response.SetBodyStream(&sectionFile{SectionReader: io.NewSectionReader(r, start, end-start), r: r}, int(end-start))
}

// sectionFile streams part of a blob and closes it when done.
type sectionFile struct {
	*io.SectionReader
	r *release.BlobReader
}

func (s *sectionFile) Close() error { return s.r.Close() }

// notModified applies If-None-Match (weak comparison, wins when present)
// and If-Modified-Since.
func notModified(req *fasthttp.RequestHeader, etag []byte, s *site) bool {
	if inm := req.PeekBytes(hINM); len(inm) > 0 {
		return orchard.ETagMatches(inm, etag)
	}
	if ims := req.PeekBytes(hIMS); len(ims) > 0 {
		t, err := fasthttp.ParseHTTPDate(ims)
		return err == nil && !s.modified.After(t)
	}
	return false
}

// ifRangeHolds reports whether a Range may be honoured given If-Range: absent,
// the strong ETag of the body, or exactly the Last-Modified date.
func ifRangeHolds(ir, etag []byte, s *site) bool {
	if len(ir) == 0 {
		return true
	}
	if ir[0] == '"' {
		return bytes.Equal(ir, etag)
	}
	return bytes.Equal(ir, s.lastModified)
}

// plain sends a short text response.
func plain(ctx *fasthttp.RequestCtx, status int, msg string) {
	ctx.Response.Header.SetCanonical(hContentType, vTextPlain)
	ctx.SetStatusCode(status)
	ctx.Response.SetBodyString(msg)
}
