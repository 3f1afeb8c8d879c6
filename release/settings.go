package release

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/orchardhq/orchard"
)

// SettingsKey is the manifest key of a release's serving settings: a small
// JSON blob (see Settings) that travels with the release like any other
// file, so a node learns the site's aliases and Cache-Control from the
// release it activates and publishing needs nothing beyond manifests and
// blobs. Keys under ReservedPrefix are never served.
const SettingsKey = ReservedPrefix + "site.json"

// ReservedPrefix starts the manifest keys that belong to orchard, not to the
// site; the builder refuses site outputs there and nodes never serve them.
const ReservedPrefix = "/_orchard/"

// DefaultNotFound is the manifest key of a site's 404 page.
const DefaultNotFound = "/404.html"

// IsReserved reports whether a manifest key is under ReservedPrefix.
func IsReserved(key string) bool { return strings.HasPrefix(key, ReservedPrefix) }

// Settings is how a node serves a release: which hosts reach it, the
// Cache-Control it sends, which file is its 404 page and which old paths
// answer 301. Being a blob of the release, the redirects are as immutable
// and content-addressed as the pages; a site without any has the same
// settings blob (and release id) as before redirects existed.
type Settings struct {
	Host         string             `json:"host"`
	Aliases      []string           `json:"aliases,omitempty"`
	CacheControl string             `json:"cache_control"`
	NotFound     string             `json:"not_found,omitempty"` // manifest key; default DefaultNotFound
	Redirects    []orchard.Redirect `json:"redirects,omitempty"` // sorted by From
}

// SettingsOf returns the serving settings of a site.
func SettingsOf(s *orchard.Site) Settings {
	cc := s.CacheControl
	if cc == "" {
		cc = orchard.DefaultCacheControl
	}
	return Settings{Host: s.Host, Aliases: append([]string(nil), s.Aliases...), CacheControl: cc, NotFound: DefaultNotFound,
		Redirects: append([]orchard.Redirect(nil), s.Redirects...)}
}

// ParseSettings decodes and checks a settings blob that came with a release
// of site: the host must be site, aliases canonical host names, the
// Cache-Control short and free of control characters, every redirect valid
// and already in its clean form. It returns an EINVALID *Error.
func ParseSettings(site string, data []byte) (*Settings, error) {
	var s Settings
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, orchard.Errorf(orchard.EINVALID, "Release settings are not valid JSON.")
	}
	if s.Host != site {
		return nil, orchard.Errorf(orchard.EINVALID, "Release settings name host %q, not %q.", s.Host, site)
	}
	for _, a := range s.Aliases {
		if n, err := orchard.NormalizeHost(a); err != nil || n != a {
			return nil, orchard.Errorf(orchard.EINVALID, "Release settings have an invalid alias %q.", a)
		}
	}
	if s.CacheControl == "" {
		s.CacheControl = orchard.DefaultCacheControl
	}
	if len(s.CacheControl) > 200 || strings.ContainsFunc(s.CacheControl, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, orchard.Errorf(orchard.EINVALID, "Release settings have an invalid Cache-Control.")
	}
	if s.NotFound == "" {
		s.NotFound = DefaultNotFound
	}
	if c, err := orchard.CleanRequestPath(s.NotFound); err != nil || c != s.NotFound || IsReserved(c) {
		return nil, orchard.Errorf(orchard.EINVALID, "Release settings have an invalid 404 page %q.", s.NotFound)
	}
	froms := make([]string, len(s.Redirects))
	for i, r := range s.Redirects {
		froms[i] = r.From
	}
	if err := orchard.ValidateRedirects(s.Redirects); err != nil {
		return nil, orchard.Errorf(orchard.EINVALID, "Release settings: %s", orchard.ErrorMessage(err))
	}
	for i, r := range s.Redirects {
		if r.From != froms[i] {
			return nil, orchard.Errorf(orchard.EINVALID, "Release settings have a redirect from %q, which is not a clean path or not in order.", froms[i])
		}
	}
	return &s, nil
}

// encode returns the settings blob, deterministic for equal settings.
func (s Settings) encode() ([]byte, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode release settings: %w", err)
	}
	return data, nil
}
