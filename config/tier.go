package config

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"time"

	orchard "github.com/orchardhq/orchard"
)

// VRRP is the virtual address a tier of balancers shares; keepalived holds
// it on one healthy balancer at a time (orchard balancer keepalived-config).
type VRRP struct {
	Address   string   `toml:"address"`   // virtual address with prefix, e.g. "192.168.1.10/24"
	Interface string   `toml:"interface"` // network interface the address lives on; a peer may override it
	RouterID  int      `toml:"router_id"` // virtual_router_id, 1-255, unique on the LAN
	Advert    Duration `toml:"advert"`    // advert_int (default 1s, whole seconds)
	// Grace is how long a stopping balancer keeps serving after its health
	// check fails, so keepalived can move the address before the drain
	// (default 3 adverts + 1s, the time a backup needs to take over).
	Grace Duration `toml:"grace"`
	// CheckTimeout bounds keepalived's health check of the balancer, so a
	// hung balancer loses the address (default 1s).
	CheckTimeout Duration `toml:"check_timeout"`
}

// Peer is one balancer of a tier: it runs with the shared [balancer]
// settings, overridden by the fields set here.
type Peer struct {
	Name      string `toml:"name"`
	Listen    string `toml:"listen"`    // default balancer.listen
	Control   string `toml:"control"`   // required: keepalived's health check and the publisher's refresh
	Data      string `toml:"data"`      // default balancer.data + "/" + name
	Interface string `toml:"interface"` // default balancer.vrrp.interface
	Priority  int    `toml:"priority"`  // VRRP priority 1-254; the highest healthy peer holds the address (default 100)
}

// reservedPeerNames are subcommands of 'orchard balancer' that a peer name
// would be mistaken for.
var reservedPeerNames = map[string]bool{"reload": true, "keepalived-config": true, "check": true, "help": true}

// BalancerNamed returns the settings of the balancer called name: the
// [balancer] table with the peer's own fields applied. With no peers, name
// must be "" and the [balancer] table is returned as written.
func (c *Config) BalancerNamed(name string) (Balancer, error) {
	b := c.Balancer
	if len(b.Peers) == 0 {
		if name != "" {
			return b, fmt.Errorf("%s: no balancer named %q (the file has one [balancer] and no [[balancer.peer]]; leave the name out)", c.Path, name)
		}
		return b, nil
	}
	if name == "" {
		return b, fmt.Errorf("%s: the file has %d balancers %v; name the one to run", c.Path, len(b.Peers), c.BalancerNames())
	}
	for _, p := range b.Peers {
		if p.Name != name {
			continue
		}
		b.Name = p.Name
		b.Listen = p.Listen
		b.Control = p.Control
		b.Data = p.Data
		b.VRRP.Interface = p.Interface
		return b, nil
	}
	return b, fmt.Errorf("%s: no balancer named %q (balancers: %v)", c.Path, name, c.BalancerNames())
}

// BalancerNames lists the peers' names; nil for a single balancer.
func (c *Config) BalancerNames() []string {
	var names []string
	for _, p := range c.Balancer.Peers {
		names = append(names, p.Name)
	}
	return names
}

// BalancerControls returns the control address of every balancer that has
// one, by name ("balancer" for a single balancer).
func (c *Config) BalancerControls() map[string]string {
	out := map[string]string{}
	if len(c.Balancer.Peers) == 0 {
		if c.Balancer.Control != "" {
			out["balancer"] = c.Balancer.Control
		}
		return out
	}
	for _, p := range c.Balancer.Peers {
		out[p.Name] = p.Control
	}
	return out
}

// Peer returns the peer called name.
func (c *Config) Peer(name string) (*Peer, error) {
	for i := range c.Balancer.Peers {
		if c.Balancer.Peers[i].Name == name {
			return &c.Balancer.Peers[i], nil
		}
	}
	return nil, fmt.Errorf("%s: no balancer named %q (balancers: %v)", c.Path, name, c.BalancerNames())
}

func (c *Config) setTierDefaults() {
	b := &c.Balancer
	v := &b.VRRP
	defDur(&v.Advert, time.Second)
	defDur(&v.Grace, 3*v.Advert.Duration+time.Second)
	defDur(&v.CheckTimeout, time.Second)
	for i := range b.Peers {
		p := &b.Peers[i]
		if p.Listen == "" {
			p.Listen = b.Listen
		}
		if p.Data == "" {
			p.Data = filepath.Join(b.Data, p.Name)
		}
		p.Data = c.abs(p.Data)
		if p.Interface == "" {
			p.Interface = v.Interface
		}
		if p.Priority == 0 {
			p.Priority = 100
		}
	}
}

// validateTier checks [balancer.vrrp] and [[balancer.peer]]. Peers run on
// different machines, so their addresses may repeat one another's.
func (v *validator) validateTier(b *Balancer) {
	if len(b.Peers) == 0 {
		if b.VRRP.Address != "" {
			v.fail("balancer.vrrp.address", "needs at least two [[balancer.peer]] to share it")
		}
		return
	}
	vr := &b.VRRP
	if vr.Address == "" {
		v.fail("balancer.vrrp.address", "is required with [[balancer.peer]] (the virtual address, e.g. \"192.168.1.10/24\")")
	} else if p, err := netip.ParsePrefix(vr.Address); err != nil || !p.Addr().Is4() {
		v.fail("balancer.vrrp.address", "%q is not an IPv4 address with prefix like \"192.168.1.10/24\"", vr.Address)
	}
	if vr.RouterID < 1 || vr.RouterID > 255 {
		v.fail("balancer.vrrp.router_id", "must be between 1 and 255 (unique among the VRRP routers of the LAN)")
	}
	if d := vr.Advert.Duration; d < time.Second || d > 255*time.Second || d%time.Second != 0 {
		v.fail("balancer.vrrp.advert", "must be whole seconds between 1s and 255s")
	}
	if vr.CheckTimeout.Duration < 100*time.Millisecond {
		v.fail("balancer.vrrp.check_timeout", "must be at least 100ms")
	}
	names := map[string]bool{}
	prios := map[int]string{}
	for i := range b.Peers {
		p := &b.Peers[i]
		key := fmt.Sprintf("balancer.peer[%d]", i)
		switch {
		case !orchard.ValidName(p.Name, 32):
			v.fail(key+".name", "%q must be 1-32 letters, digits, '-' or '_'", p.Name)
		case reservedPeerNames[p.Name]:
			v.fail(key+".name", "%q is a subcommand of 'orchard balancer'; choose another name", p.Name)
		case names[p.Name]:
			v.fail(key+".name", "balancer %q is defined twice", p.Name)
		}
		names[p.Name] = true
		peerAddrs := &validator{file: v.file, lines: v.lines, addrs: map[string]string{}}
		peerAddrs.addr(key+".listen", p.Listen, true)
		peerAddrs.addr(key+".control", p.Control, true)
		v.errs = append(v.errs, peerAddrs.errs...)
		if p.Interface == "" {
			v.fail(key+".interface", "is required (or set balancer.vrrp.interface)")
		}
		if p.Priority < 1 || p.Priority > 254 {
			v.fail(key+".priority", "must be between 1 and 254")
		} else if other, ok := prios[p.Priority]; ok {
			v.fail(key+".priority", "priority %d is also %s's; give each balancer its own", p.Priority, other)
		}
		prios[p.Priority] = p.Name
	}
	if len(b.Peers) == 1 {
		v.fail("balancer.peer[0]", "a tier needs at least two balancers (or leave [[balancer.peer]] out)")
	}
}
