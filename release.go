package orchard

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"time"
)

// ManifestEntry describes one file of a release: the blob that holds it and
// how to serve it.
type ManifestEntry struct {
	SHA256      string `json:"sha256"`         // hex SHA-256 of the content
	Size        int64  `json:"size"`           // bytes
	ContentType string `json:"type"`           // e.g. "text/html; charset=utf-8"
	Gzip        string `json:"gzip,omitempty"` // hex SHA-256 of the gzip variant, if any
	GzipSize    int64  `json:"gzip_size,omitempty"`
}

// Manifest is a release of one site: every path it serves and the blob for
// each. Paths are manifest keys (see ManifestKey), e.g. "/index.html".
type Manifest struct {
	Site    string                   `json:"site"`
	Created time.Time                `json:"created"`
	Parent  string                   `json:"parent,omitempty"` // id of the release built before it
	Files   map[string]ManifestEntry `json:"files"`
}

// ID derives the release id from the site and the files alone, so building
// unchanged content twice gives the same release: 16 hex digits of a SHA-256
// over the sorted entries.
func (m *Manifest) ID() string {
	keys := make([]string, 0, len(m.Files))
	for k := range m.Files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	h.Write([]byte(m.Site))
	h.Write([]byte{0})
	for _, k := range keys {
		e := m.Files[k]
		for _, s := range []string{k, e.SHA256, strconv.FormatInt(e.Size, 10), e.ContentType, e.Gzip} {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Validate checks a manifest that came from outside (a publish request): the
// site is a host name, every path is a clean manifest key and every hash is
// 64 lower-case hex digits. It returns an EINVALID *Error.
func (m *Manifest) Validate() error {
	if _, err := NormalizeHost(m.Site); err != nil {
		return err
	}
	if len(m.Files) == 0 {
		return Errorf(EINVALID, "Manifest has no files.")
	}
	for p, e := range m.Files {
		clean, err := CleanRequestPath(p)
		if err != nil || clean != p || ManifestKey(p) != p {
			return Errorf(EINVALID, "Manifest path %q is not a clean file path.", p)
		}
		if !ValidSHA256(e.SHA256) || (e.Gzip != "" && !ValidSHA256(e.Gzip)) {
			return Errorf(EINVALID, "Manifest entry %q has an invalid hash.", p)
		}
		if e.Size < 0 || e.GzipSize < 0 || containsControl(e.ContentType) || e.ContentType == "" {
			return Errorf(EINVALID, "Manifest entry %q has an invalid size or type.", p)
		}
	}
	return nil
}

// ValidSHA256 reports whether s is 64 lower-case hex digits.
func ValidSHA256(s string) bool { return lowerHex(s, 64) }

// ValidReleaseID reports whether s has the shape of a release id.
func ValidReleaseID(s string) bool { return lowerHex(s, 16) }

// lowerHex reports whether s is n lower-case hex digits.
func lowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if HexDigit(s[i]) > 15 {
			return false
		}
	}
	return true
}

// HexDigit is the value of a lower-case hex digit, or 0xff for any other
// byte: the one rule for digests and release ids, which are lower case.
func HexDigit(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return 0xff
}

// DecodeSHA256 decodes a digest written as 64 lower-case hex digits (as
// ValidSHA256 accepts) into its 32 bytes, in place, without allocating;
// ok is false for anything else. Blob stores and nodes look up every hash
// of every manifest they stage through it.
func DecodeSHA256(s string) (sum [32]byte, ok bool) {
	if len(s) != 2*len(sum) {
		return sum, false
	}
	for i := range sum {
		hi, lo := HexDigit(s[2*i]), HexDigit(s[2*i+1])
		if hi > 15 || lo > 15 {
			return sum, false
		}
		sum[i] = hi<<4 | lo
	}
	return sum, true
}

// Release summarises a built release for listings.
type Release struct {
	ID      string    `json:"id"`
	Site    string    `json:"site"`
	Parent  string    `json:"parent,omitempty"`
	Created time.Time `json:"created"`
	Files   int       `json:"files"`
	Bytes   int64     `json:"bytes"`
}

// FormatBytes writes a size in bytes as people read it: "512 B",
// "1.5 KiB", "20.0 MiB", "3.2 GiB" (binary units, one decimal), as the
// admin UI and the publish progress show release and blob sizes.
func FormatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GiB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// ReleaseHeader is the response header that names the release a response
// came from.
const ReleaseHeader = "X-Orchard-Release"

// HealthPath is the unauthenticated health endpoint of every process.
const HealthPath = "/_orchard/health"

// RefreshPath is the signed control endpoint (POST) on a balancer's control
// listener that makes it check every member's health at once and answer
// with a Health document of each site's newest release as it now routes
// it: a publish asks it after activating, so the edge serves the new
// release when the publish returns rather than at the next periodic check.
const RefreshPath = "/_orchard/v1/refresh"

// Health is the body of HealthPath: whether the process is serving, and the
// active release of each site (nodes) .
type Health struct {
	OK       bool              `json:"ok"`
	Role     string            `json:"role,omitempty"`
	Name     string            `json:"name,omitempty"`
	Releases map[string]string `json:"releases"`
	// Version names the list of releases; asked again with
	// ?since=VERSION, a node answers with Delta set and only the sites
	// whose release changed since in Releases ("" for a site it no
	// longer has).
	Version string `json:"version,omitempty"`
	Delta   bool   `json:"delta,omitempty"`
}

// ReleaseHash is one site's share of a digest of active releases
// (monitor.ReleasesDigest): FNV-1a of site, a 0 byte, and id. A digest is
// the sum of the shares of its sites, so a process holding thousands of
// sites keeps it up to date as releases change (subtract the old share,
// add the new) instead of hashing every site again at each scrape.
func ReleaseHash(site, id string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := range len(site) {
		h = (h ^ uint64(site[i])) * prime
	}
	h *= prime // the 0 byte between the two
	for i := range len(id) {
		h = (h ^ uint64(id[i])) * prime
	}
	return h
}
