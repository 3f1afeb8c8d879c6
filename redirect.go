package orchard

import (
	"net/url"
	"slices"
	"strings"
)

// Redirect sends visitors of an old path of a site to a new place with a
// 301 Moved Permanently. Redirects are part of the site's settings, built
// into every release and answered by the nodes; a page, listing or asset
// the release serves at From wins over the redirect.
type Redirect struct {
	// From is the old path as a link writes it, percent-escaped where a
	// URL must be ("/2019/01/hello/", "/caf%C3%A9.html"); never a URL with a
	// scheme or host, never a query. Validate gives it one canonical form;
	// a request matches it when CleanRequestPath of both agree.
	From string `json:"from"`
	// To is where the visitor goes: a path of the site ("/news/hello/") or
	// an absolute http or https URL. It is sent as the Location header as
	// it is.
	To string `json:"to"`
}

// MaxRedirects is the most redirects a site may have.
const MaxRedirects = 50000

// maxRedirectTo is the longest To accepted, in bytes.
const maxRedirectTo = 2048

// Validate puts From in its canonical form in place (cleaned as
// CleanRequestPath cleans a request, then escaped again segment by
// segment, so validating twice changes nothing) and checks both ends,
// returning an EINVALID *Error that names what is wrong.
func (r *Redirect) Validate() error {
	from := r.From
	if from == "" || from[0] != '/' || strings.HasPrefix(from, "//") {
		return Errorf(EINVALID, "Redirect from %q: it must be a path starting with a single '/', not a URL.", from)
	}
	if strings.ContainsAny(from, "?#") {
		return Errorf(EINVALID, "Redirect from %q: a query or fragment cannot be redirected (nodes match the path only).", from)
	}
	if containsControl(from) {
		return Errorf(EINVALID, "Redirect from %q: the path has a control character.", from)
	}
	if hasDotDot(from) {
		return Errorf(EINVALID, "Redirect from %q: the path has a '..' segment.", from)
	}
	clean, err := CleanRequestPath(from)
	if err != nil {
		return Errorf(EINVALID, "Redirect from %q: %s", from, ErrorMessage(err))
	}
	escaped := escapePath(clean)
	if len(escaped) > MaxPathLen {
		// Escaping makes a byte three: the stored form must still be a
		// path a request can send.
		return Errorf(EINVALID, "Redirect from %q: the path is longer than %d bytes once escaped.", from, MaxPathLen)
	}
	r.From = escaped
	if err := validateRedirectTo(r.To); err != nil {
		return Errorf(EINVALID, "Redirect from %q: %s", r.From, ErrorMessage(err))
	}
	if r.To == r.From {
		return Errorf(EINVALID, "Redirect from %q goes to itself.", r.From)
	}
	return validUTF8(r.From, r.To)
}

// validateRedirectTo checks a redirect target: a path of the site (no
// "..", no control characters or spaces, not "//host") or an absolute http
// or https URL with a host.
func validateRedirectTo(to string) error {
	if to == "" {
		return Errorf(EINVALID, "The target is empty.")
	}
	if len(to) > maxRedirectTo {
		return Errorf(EINVALID, "The target is longer than %d bytes.", maxRedirectTo)
	}
	// A space or control character would break the Location header (or,
	// for CR and LF, add headers of the sender's choosing).
	if containsControl(to) || strings.ContainsAny(to, " \\") {
		return Errorf(EINVALID, "The target %q has a space, backslash or control character.", to)
	}
	if to[0] == '/' {
		if strings.HasPrefix(to, "//") {
			return Errorf(EINVALID, "The target %q is scheme-relative; give http:// or https://.", to)
		}
		p, _, _ := strings.Cut(to, "?")
		p, _, _ = strings.Cut(p, "#")
		if hasDotDot(p) {
			return Errorf(EINVALID, "The target %q has a '..' segment.", to)
		}
		return nil
	}
	u, err := url.Parse(to)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return Errorf(EINVALID, "The target %q must be a path starting with '/' or an http(s) URL with a host.", to)
	}
	return nil
}

// escapePath escapes each segment of a clean, decoded path as a URL path
// segment: CleanRequestPath(escapePath(p)) == p.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// hasDotDot reports whether path p has a ".." segment, also when escaped.
func hasDotDot(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if s := strings.ToLower(seg); s == ".." || s == "%2e." || s == ".%2e" || s == "%2e%2e" {
			return true
		}
	}
	return false
}

// ValidateRedirects validates each redirect (normalising From in place),
// sorts them by From and refuses two from the same path and more than
// MaxRedirects. It returns an EINVALID *Error.
func ValidateRedirects(rs []Redirect) error {
	if len(rs) > MaxRedirects {
		return Errorf(EINVALID, "A site may have at most %d redirects (%d given).", MaxRedirects, len(rs))
	}
	for i := range rs {
		if err := rs[i].Validate(); err != nil {
			return err
		}
	}
	slices.SortFunc(rs, func(a, b Redirect) int { return strings.Compare(a.From, b.From) })
	for i := 1; i < len(rs); i++ {
		if rs[i].From == rs[i-1].From {
			return Errorf(EINVALID, "Redirect from %q is given twice.", rs[i].From)
		}
	}
	return nil
}
