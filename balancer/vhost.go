package balancer

import (
	"net/netip"
	"sort"
	"strings"

	"github.com/valyala/fasthttp"
)

// table is the routing of one configuration: host names to vhosts, vhosts
// to pools. Reload swaps it whole; requests read it without locks.
type table struct {
	opts    Options
	cache   *edgeCache              // nil = no edge cache
	manager fasthttp.RequestHandler // nil when ManagerPath is "-"
	exact   map[string]*vhost
	wild    []wildHost // longest suffix first
	any     *vhost
	pools   []*pool
	byName  map[string]*pool
}

type wildHost struct {
	suffix string // ".example.com"
	v      *vhost
}

// vhost is one VHost with its pool resolved.
type vhost struct {
	pool      *pool
	deny      []string // lower case
	denyAllow []netip.Prefix
}

// lookup finds the vhost of a normalised host name and whether it was
// matched by name (exactly or by a wildcard) rather than by "*".
func (t *table) lookup(host []byte) (v *vhost, named bool) {
	if v := t.exact[string(host)]; v != nil {
		return v, true
	}
	for _, w := range t.wild {
		if len(host) > len(w.suffix) && string(host[len(host)-len(w.suffix):]) == w.suffix {
			return w.v, true
		}
	}
	return t.any, false
}

// newVHosts fills t's host maps from o.VHosts. The first vhost to name a
// host wins; wildcards match by longest suffix; "*" catches the rest.
func (t *table) addVHosts(vhosts []VHost) {
	t.exact = map[string]*vhost{}
	for _, vh := range vhosts {
		v := &vhost{pool: t.byName[vh.Pool], denyAllow: vh.DenyAllow}
		for _, d := range vh.Deny {
			v.deny = append(v.deny, strings.ToLower(d))
		}
		for _, h := range vh.Hosts {
			name, _ := normalizeVHostName(h) // validated
			switch {
			case name == "*":
				if t.any == nil {
					t.any = v
				}
			case strings.HasPrefix(name, "*."):
				suffix := name[1:]
				dup := false
				for _, w := range t.wild {
					dup = dup || w.suffix == suffix
				}
				if !dup {
					t.wild = append(t.wild, wildHost{suffix: suffix, v: v})
				}
			default:
				if t.exact[name] == nil {
					t.exact[name] = v
				}
			}
		}
	}
	sort.SliceStable(t.wild, func(i, j int) bool { return len(t.wild[i].suffix) > len(t.wild[j].suffix) })
}

// denied reports whether a clean path matches one of v's deny patterns and
// the client is not in its allow list.
func (v *vhost) denied(clean []byte, client netip.Addr) bool {
	for _, pat := range v.deny {
		if matchPattern(pat, clean) {
			for _, p := range v.denyAllow {
				if p.Contains(client) {
					return false
				}
			}
			return true
		}
	}
	return false
}

// matchPattern matches a lower-case glob against a path, ignoring ASCII
// case: '*' matches any run of bytes, slashes included, and a pattern
// ending in "/*" also matches the bare directory ("/admin" for "/admin/*").
func matchPattern(pat string, s []byte) bool {
	if strings.HasSuffix(pat, "/*") && len(s) == len(pat)-2 && globMatch(pat[:len(pat)-2], s) {
		return true
	}
	return globMatch(pat, s)
}

// globMatch is the classic iterative wildcard match with one backtrack
// point, linear in practice and never recursive.
func globMatch(pat string, s []byte) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pat) && pat[p] == '*':
			star, mark = p, i
			p++
		case p < len(pat) && pat[p] == lower(s[i]):
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasReservedPrefix reports whether a clean path is /_orchard or under
// /_orchard/, in any case.
func hasReservedPrefix[S string | []byte](p S) bool {
	const r = "/_orchard"
	if len(p) < len(r) {
		return false
	}
	for i := 0; i < len(r); i++ {
		if lower(p[i]) != r[i] {
			return false
		}
	}
	return len(p) == len(r) || p[len(r)] == '/'
}
