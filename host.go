package orchard

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"strings"

	"golang.org/x/net/idna"
)

// MaxHostLen is the longest host name accepted, in bytes (RFC 1035).
const MaxHostLen = 253

// idnaProfile turns Unicode host names into punycode the way browsers do,
// and refuses anything that is not a valid DNS name.
var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false))

// NormalizeHost turns a Host header or a user-typed site name into the
// canonical form orchard stores: lower case, no port, no trailing dot,
// Unicode labels as punycode. It returns an EINVALID *Error for anything
// that is not an RFC 1123 host name, so the result is always safe to use in
// SQL identifiers and file names.
func NormalizeHost(raw string) (string, error) {
	if len(raw) == 0 {
		return "", Errorf(EINVALID, "Host name is empty.")
	}
	if len(raw) > MaxHostLen+7 { // room for ":65535" and a trailing dot
		return "", Errorf(EINVALID, "Host name is longer than %d bytes.", MaxHostLen)
	}
	h := raw
	if host, port, err := net.SplitHostPort(h); err == nil {
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return "", Errorf(EINVALID, "Host %q has an invalid port.", raw)
		}
		h = host
	}
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; c < 0x21 || c == 0x7f {
			return "", Errorf(EINVALID, "Host %q contains a space or control character.", raw)
		}
	}
	if !isASCII(h) {
		a, err := idnaProfile.ToASCII(h)
		if err != nil {
			return "", Errorf(EINVALID, "Host %q is not a valid international domain name.", raw)
		}
		h = a
	}
	h = strings.ToLower(h)
	if err := validateDNSName(h); err != nil {
		return "", Errorf(EINVALID, "Host %q is invalid: %s.", raw, err.Error())
	}
	return h, nil
}

type hostError string

func (e hostError) Error() string { return string(e) }

// validateDNSName checks an already lower-cased ASCII name against RFC 1123.
func validateDNSName(h string) error {
	if h == "" {
		return hostError("it is empty")
	}
	if len(h) > MaxHostLen {
		return hostError("it is longer than 253 bytes")
	}
	for _, label := range strings.Split(h, ".") {
		switch {
		case label == "":
			return hostError("it has an empty label")
		case len(label) > 63:
			return hostError("a label is longer than 63 bytes")
		case label[0] == '-' || label[len(label)-1] == '-':
			return hostError("a label starts or ends with a hyphen")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return hostError("only letters, digits, hyphens and dots are allowed")
			}
		}
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// maxReadablePrefix bounds the readable part of a table prefix so that the
// longest table name (prefix + "_categories") fits MySQL's 64-byte limit.
const maxReadablePrefix = 40

// TablePrefix returns the prefix of the tables that hold a site's content,
// e.g. "s_example_com". The mapping is injective on valid host names: dots
// become "_" and hyphens "__", which cannot be confused because a label
// never begins or ends with a hyphen. Names whose readable form would pass
// 40 bytes are shortened and given 64 bits of a hash of the whole name, so
// every table name ("_categories" is the longest suffix) stays within
// MySQL's 64-byte identifier limit. host must be normalised by NormalizeHost.
func TablePrefix(host string) string {
	var b strings.Builder
	b.WriteString("s_")
	for i := 0; i < len(host); i++ {
		switch c := host[i]; c {
		case '.':
			b.WriteByte('_')
		case '-':
			b.WriteString("__")
		default:
			b.WriteByte(c)
		}
	}
	p := b.String()
	if len(p) <= maxReadablePrefix {
		return p
	}
	// Shortened prefixes are exactly 41 bytes long, one more than any
	// readable prefix, so the two forms never meet; two long hosts share a
	// prefix only if 64 bits of SHA-256 collide, which the registry's
	// unique constraint would still turn into an error.
	sum := sha256.Sum256([]byte(host))
	return p[:24] + "_" + hex.EncodeToString(sum[:8])
}

// IsLoopbackName reports whether host (a name, not an address; a trailing
// dot and any case are allowed) is "localhost" or a name under it. RFC 6761
// reserves these names for loopback, and browsers resolve them so without
// asking DNS, so orchard's own clients (bench, probe) do the same: the
// demo's alpha.localhost works even where the system resolver does not
// know it.
func IsLoopbackName(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// LoopbackDialAddr returns the address to dial for addr ("host:port"):
// 127.0.0.1 with the same port when the host is a loopback name (see
// IsLoopbackName), otherwise addr unchanged. Use it in a dialer so that a
// URL's host name keeps going into the Host header and TLS server name.
func LoopbackDialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || !IsLoopbackName(host) {
		return addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}
