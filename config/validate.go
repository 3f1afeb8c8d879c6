package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	orchard "github.com/orchardhq/orchard"
)

type validator struct {
	file  string
	lines map[string]int
	errs  Errors
	addrs map[string]string // listen address -> key that claimed it
}

// fail records a mistake at key, pointing at the key's line or, when the
// key is not written in the file (a default), at the nearest table above it.
func (v *validator) fail(key, format string, args ...any) {
	line := v.lines[key]
	for k := key; line == 0; {
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			break
		}
		k = k[:i]
		line = v.lines[k]
	}
	v.errs = append(v.errs, &Error{File: v.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// addr checks a listen address and that no two roles claim the same one.
func (v *validator) addr(key, a string, required bool) {
	if a == "" {
		if required {
			v.fail(key, "is required (an address like \"127.0.0.1:8081\")")
		}
		return
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		v.fail(key, "%q is not a host:port address", a)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.fail(key, "%q has an invalid port", a)
		return
	}
	if host != "" && host != "localhost" {
		if _, err := netip.ParseAddr(host); err != nil {
			if _, err := orchard.NormalizeHost(host); err != nil {
				v.fail(key, "%q has an invalid host", a)
				return
			}
		}
	}
	if port == "0" {
		return
	}
	if other, ok := v.addrs[a]; ok {
		v.fail(key, "address %s is already used by %s", a, other)
		return
	}
	v.addrs[a] = key
}

func (v *validator) validate(c *Config) {
	v.addrs = map[string]string{}

	switch c.Database.Driver {
	case "sqlite":
	case "mysql":
		if c.Database.Primary == "" {
			v.fail("database.primary", "is required with driver = \"mysql\"")
		}
	default:
		v.fail("database.driver", "must be \"sqlite\" or \"mysql\", not %q", c.Database.Driver)
	}

	v.addr("master.listen", c.Master.Listen, false)
	v.addr("master.admin", c.Master.Admin, false)
	v.addr("master.control", c.Master.Control, false)
	if c.Master.KeepReleases < 1 {
		v.fail("master.keep_releases", "must be at least 1")
	}

	names := map[string]*Node{}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		key := fmt.Sprintf("node[%d]", i)
		if !orchard.ValidName(n.Name, 32) {
			v.fail(key+".name", "%q must be 1-32 letters, digits, '-' or '_'", n.Name)
		} else if names[n.Name] != nil {
			v.fail(key+".name", "node %q is defined twice", n.Name)
		}
		names[n.Name] = n
		v.addr(key+".listen", n.Listen, true)
		v.addr(key+".control", n.Control, true)
		if n.MaxConns < 1 {
			v.fail(key+".max_conns", "must be at least 1")
		}
		if n.MaxHeaderBytes < 1024 || n.MaxHeaderBytes > 1<<20 {
			v.fail(key+".max_header_bytes", "must be between 1024 and 1048576")
		}
		if n.CacheBytes < 0 {
			v.fail(key+".cache_bytes", "must not be negative")
		}
		if n.Workers < 0 || n.Workers > MaxWorkers {
			v.fail(key+".workers", "must be between 0 (every CPU) and %d", MaxWorkers)
		}
	}

	b := &c.Balancer
	v.addr("balancer.listen", b.Listen, true)
	v.addr("balancer.control", b.Control, false)
	v.addr("balancer.tls_listen", b.TLSListen, false)
	if b.Workers < 0 || b.Workers > MaxWorkers {
		v.fail("balancer.workers", "must be between 0 (every CPU) and %d", MaxWorkers)
	}
	if !strings.HasPrefix(b.Manager, "/") || strings.ContainsAny(b.Manager, " ?#\\") || strings.Contains(b.Manager, "..") {
		v.fail("balancer.manager", "%q must be a plain path starting with '/'", b.Manager)
	}
	if strings.HasPrefix(b.Manager, "/_orchard") {
		v.fail("balancer.manager", "must not be under /_orchard/, which is reserved")
	}
	for _, cidr := range b.ManagerAllow {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			v.fail("balancer.manager_allow", "%q is not a CIDR like \"192.168.0.0/24\"", cidr)
		}
	}
	if (b.TLSCert == "") != (b.TLSKey == "") {
		v.fail("balancer.tls_cert", "tls_cert and tls_key go together")
	}
	if b.TLSCert != "" && b.TLSListen == "" {
		v.fail("balancer.tls_listen", "is required with tls_cert")
	}
	if b.Retries < -1 || b.Retries > 10 {
		v.fail("balancer.retries", "must be between -1 (none) and 10")
	}
	if b.Health.Rise < 1 || b.Health.Fall < 1 {
		v.fail("balancer.health", "rise and fall must be at least 1")
	}
	if b.Health.Timeout.Duration > b.Health.Interval.Duration {
		v.fail("balancer.health.timeout", "must not be longer than the interval")
	}

	v.validateTier(b)

	pools := map[string]bool{}
	for i := range b.Pools {
		p := &b.Pools[i]
		key := fmt.Sprintf("balancer.pool[%d]", i)
		if !orchard.ValidName(p.Name, 32) {
			v.fail(key+".name", "%q must be 1-32 letters, digits, '-' or '_'", p.Name)
		} else if pools[p.Name] {
			v.fail(key+".name", "pool %q is defined twice", p.Name)
		}
		pools[p.Name] = true
		switch p.Method {
		case "byrequests", "bytraffic", "bybusyness", "hash":
		default:
			v.fail(key+".method", "must be byrequests, bytraffic, bybusyness or hash, not %q", p.Method)
		}
		if len(p.MemberNames)+len(p.Standby) == 0 {
			v.fail(key+".members", "a pool needs at least one member")
		}
		standby := map[string]bool{}
		for _, s := range p.Standby {
			standby[s] = true
		}
		seen := map[string]bool{}
		add := func(name string, isStandby bool, field string) {
			n := names[name]
			switch {
			case n == nil:
				v.fail(key+"."+field, "no [[node]] is named %q", name)
			case seen[name]:
				v.fail(key+"."+field, "member %q is listed twice", name)
			default:
				w, ok := p.Weights[name]
				if !ok {
					w = 1
				}
				p.Members = append(p.Members, PoolMember{Name: name, Weight: w, Standby: isStandby, Listen: n.Listen, Control: n.Control})
			}
			seen[name] = true
		}
		for _, m := range p.MemberNames {
			add(m, false, "members")
		}
		for _, m := range p.Standby {
			add(m, true, "standby")
		}
		for name, w := range p.Weights {
			if !seen[name] {
				v.fail(key+".weights", "%q is not a member of this pool", name)
			}
			if w < 1 || w > 100 {
				v.fail(key+".weights", "weight of %q must be between 1 and 100", name)
			}
		}
		if p.MaxInFlight < 0 || p.QueueSize < 0 {
			v.fail(key, "max_in_flight and queue must not be negative")
		}
		for _, s := range p.FailOnStatus {
			if s < 100 || s > 599 {
				v.fail(key+".failonstatus", "%d is not an HTTP status", s)
			}
		}
	}

	for i := range b.VHosts {
		h := &b.VHosts[i]
		key := fmt.Sprintf("balancer.vhost[%d]", i)
		if len(h.Hosts) == 0 {
			v.fail(key+".hosts", "a vhost needs at least one host name (or \"*\")")
		}
		for j, name := range h.Hosts {
			norm, err := normalizeVHost(name)
			if err != nil {
				v.fail(key+".hosts", "%q: %s", name, orchard.ErrorMessage(err))
				continue
			}
			h.Hosts[j] = norm
		}
		if !pools[h.Pool] {
			v.fail(key+".pool", "no [[balancer.pool]] is named %q", h.Pool)
		}
		for _, d := range h.Deny {
			if !strings.HasPrefix(d, "/") {
				v.fail(key+".deny", "pattern %q must start with '/'", d)
			}
		}
		for _, cidr := range h.DenyAllow {
			if _, err := netip.ParsePrefix(cidr); err != nil {
				v.fail(key+".deny_allow", "%q is not a CIDR", cidr)
			}
		}
	}
}

// normalizeVHost accepts "*", "*.example.com" or a host name.
func normalizeVHost(name string) (string, error) {
	if name == "*" {
		return name, nil
	}
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		h, err := orchard.NormalizeHost(rest)
		return "*." + h, err
	}
	return orchard.NormalizeHost(name)
}
