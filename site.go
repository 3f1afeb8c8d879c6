package orchard

import (
	"time"
)

// Site is one website, named by its host name. Its content lives in the
// store's shared tables under the site's id.
type Site struct {
	Host    string   // canonical host name, see NormalizeHost
	Aliases []string // other host names that serve the same site
	Prefix  string   // the seed's table prefix of the host (TablePrefix), set by the store; unique, though no table is named by it since the shared tables
	Title   string
	// Description is used by the home page, the RSS channel and meta tags.
	Description string
	// Scheme is "http" or "https"; absolute URLs in the sitemap and feed use it.
	Scheme string
	// Port is the port visitors reach the site on when it is not the
	// scheme's default (0): absolute URLs carry it. It is not stored: a
	// build takes it from the cluster file (where the balancer listens).
	Port int
	// CacheControl is sent with every page the nodes serve, e.g.
	// "public, max-age=60". Empty means "public, max-age=60".
	CacheControl string
	// FeedSize is how many of the newest posts the RSS feed holds (default 20).
	FeedSize int
	// Redirects are the site's old paths and where each now lives, sorted
	// by From (Validate sorts them); the stores save them with the
	// settings, so UpdateSite replaces the whole list.
	Redirects []Redirect
	Created   time.Time
	Updated   time.Time
}

// Defaults for Site fields left empty.
const (
	DefaultCacheControl = "public, max-age=60"
	DefaultFeedSize     = 20
	DefaultScheme       = "http"
)

// Validate normalises the host and aliases in place and checks every field,
// returning an EINVALID *Error that names the first bad one.
func (s *Site) Validate() error {
	h, err := NormalizeHost(s.Host)
	if err != nil {
		return err
	}
	s.Host = h
	seen := map[string]bool{h: true}
	for i, a := range s.Aliases {
		n, err := NormalizeHost(a)
		if err != nil {
			return Errorf(EINVALID, "Alias: %s", ErrorMessage(err))
		}
		if seen[n] {
			return Errorf(EINVALID, "Alias %q is given twice.", n)
		}
		seen[n] = true
		s.Aliases[i] = n
	}
	if len(s.Title) > 200 {
		return Errorf(EINVALID, "Title is longer than 200 bytes.")
	}
	if err := validUTF8(s.Title, s.Description); err != nil {
		return err
	}
	switch s.Scheme {
	case "":
		s.Scheme = DefaultScheme
	case "http", "https":
	default:
		return Errorf(EINVALID, "Scheme must be http or https.")
	}
	if s.CacheControl == "" {
		s.CacheControl = DefaultCacheControl
	}
	if len(s.CacheControl) > 200 || containsControl(s.CacheControl) {
		return Errorf(EINVALID, "Cache-Control must be under 200 bytes with no control characters.")
	}
	if s.FeedSize == 0 {
		s.FeedSize = DefaultFeedSize
	}
	if s.FeedSize < 1 || s.FeedSize > 1000 {
		return Errorf(EINVALID, "Feed size must be between 1 and 1000.")
	}
	return ValidateRedirects(s.Redirects)
}

func containsControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
