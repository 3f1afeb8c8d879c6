package orchard

import (
	"net/netip"
	"strings"
)

// HostKey turns a Host header into the name sites (and the balancer's
// vhosts) are keyed by, for the serving paths of node and balancer. The common case (lower-case name, optional numeric port) returns a
// sub-slice and allocates nothing; anything else goes through
// NormalizeHost. ok is false for a malformed host.
func HostKey(h []byte) (host []byte, ok bool) {
	if len(h) == 0 || len(h) > MaxHostLen+7 {
		return nil, false
	}
	end := len(h)
	simple := h[0] != '.' && h[0] != '-'
	for i := 0; i < len(h) && simple; i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-':
		case c == '.':
			simple = i+1 < len(h) && h[i+1] != '.'
		case c == ':':
			end = i
			simple = i > 0 && i+1 < len(h) && isDigits(h[i+1:]) && len(h)-i-1 <= 5
			i = len(h)
		default:
			simple = false
		}
	}
	if simple && end > 0 {
		if h[end-1] == '.' {
			end--
		}
		return h[:end], end > 0
	}
	if h[0] == '[' { // IPv6 literal, with or without a port
		j := strings.IndexByte(string(h), ']')
		if j < 0 {
			return nil, false
		}
		a, err := netip.ParseAddr(string(h[1:j]))
		if err != nil || (j+1 < len(h) && (h[j+1] != ':' || !isDigits(h[j+2:]) || j+2 == len(h))) {
			return nil, false
		}
		return []byte("[" + a.String() + "]"), true
	}
	n, err := NormalizeHost(string(h))
	if err != nil {
		return nil, false
	}
	return []byte(n), true
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}
