package config

import (
	"path/filepath"
	"time"
)

// Defaults for settings left out of the cluster file.
const (
	DefaultBalancerListen = "127.0.0.1:8000"
	DefaultManagerPath    = "/orchard-manager"
	DefaultKeepReleases   = 10
	DefaultNodeMaxConns   = 10000
	DefaultNodeCacheBytes = 128 << 20
	DefaultMaxHeaderBytes = 16 << 10
	DefaultEdgeCacheBytes = 256 << 20
	// MaxWorkers bounds the workers setting of a node or the balancer.
	MaxWorkers = 1024
)

func (c *Config) setDefaults() {
	if c.SecretFile == "" {
		c.SecretFile = "secret.key"
	}
	c.SecretFile = c.abs(c.SecretFile)

	d := &c.Database
	if d.Driver == "" {
		d.Driver = "sqlite"
	}
	if d.Driver == "sqlite" && d.Path == "" {
		d.Path = "data/orchard.db"
	}
	if d.Path != "" {
		d.Path = c.abs(d.Path)
	}
	if d.PasswordFile != "" {
		d.PasswordFile = c.abs(d.PasswordFile)
	}
	if d.PasswordEnv == "" {
		d.PasswordEnv = "ORCHARD_DB_PASSWORD"
	}
	defDur(&d.MaxLag, 5*time.Second)

	m := &c.Master
	if m.Data == "" {
		m.Data = "data/master"
	}
	m.Data = c.abs(m.Data)
	if m.KeepReleases == 0 {
		m.KeepReleases = DefaultKeepReleases
	}

	for i := range c.Nodes {
		n := &c.Nodes[i]
		if n.Data == "" && n.Name != "" {
			n.Data = filepath.Join("data", n.Name)
		}
		if n.Data != "" {
			n.Data = c.abs(n.Data)
		}
		if n.MaxConns == 0 {
			n.MaxConns = DefaultNodeMaxConns
		}
		defDur(&n.KeepAlive, 30*time.Second)
		defDur(&n.ReadHeaderTimeout, 10*time.Second)
		defDur(&n.CatchUp, 5*time.Second)
		if n.MaxHeaderBytes == 0 {
			n.MaxHeaderBytes = DefaultMaxHeaderBytes
		}
		if n.CacheBytes == 0 {
			n.CacheBytes = DefaultNodeCacheBytes
		}
	}

	b := &c.Balancer
	if b.Listen == "" {
		b.Listen = DefaultBalancerListen
	}
	if b.Manager == "" {
		b.Manager = DefaultManagerPath
	}
	if b.ManagerAllow == nil {
		b.ManagerAllow = []string{"127.0.0.0/8", "::1/128"}
	}
	if b.Data == "" {
		b.Data = "data/balancer"
	}
	b.Data = c.abs(b.Data)
	if b.AccessLog != "" && b.AccessLog != "-" {
		b.AccessLog = c.abs(b.AccessLog)
	}
	if b.TLSCert != "" {
		b.TLSCert = c.abs(b.TLSCert)
	}
	if b.TLSKey != "" {
		b.TLSKey = c.abs(b.TLSKey)
	}
	if b.MaxConns == 0 {
		b.MaxConns = 10000
	}
	if b.Retries == 0 {
		b.Retries = 2
	}
	defDur(&b.RetryAfter, 10*time.Second)
	if b.CacheBytes == 0 {
		b.CacheBytes = DefaultEdgeCacheBytes
	}
	defDur(&b.Health.Interval, 2*time.Second)
	defDur(&b.Health.Timeout, time.Second)
	if b.Health.Rise == 0 {
		b.Health.Rise = 2
	}
	if b.Health.Fall == 0 {
		b.Health.Fall = 3
	}
	if len(b.Pools) == 0 && len(c.Nodes) > 0 {
		p := Pool{Name: "web"}
		for _, n := range c.Nodes {
			p.MemberNames = append(p.MemberNames, n.Name)
		}
		b.Pools = []Pool{p}
	}
	for i := range b.Pools {
		p := &b.Pools[i]
		if p.Method == "" {
			p.Method = "byrequests"
		}
		if p.QueueSize == 0 {
			p.QueueSize = 1000
		}
		defDur(&p.QueueTimeout, 5*time.Second)
		defDur(&p.SlowStart, 10*time.Second)
	}
	c.setTierDefaults()
	if len(b.VHosts) == 0 && len(b.Pools) > 0 {
		b.VHosts = []VHost{{Hosts: []string{"*"}, Pool: b.Pools[0].Name, Deny: []string{"/admin/*"}}}
	}
}

func (c *Config) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(c.Dir, p)
}

func defDur(d *Duration, v time.Duration) {
	if d.Duration == 0 {
		d.Duration = v
	}
}
