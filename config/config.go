package config

import (
	"fmt"
	"time"
)

// Config is a loaded, validated cluster file.
type Config struct {
	Path   string `toml:"-"` // absolute path of the file
	Dir    string `toml:"-"` // directory of the file; relative paths are resolved against it
	Secret []byte `toml:"-"` // the cluster HMAC secret, read from SecretFile

	// SecretFile holds the cluster secret; created with mode 0600 when missing.
	SecretFile string   `toml:"secret_file"`
	Database   Database `toml:"database"`
	Master     Master   `toml:"master"`
	Nodes      []Node   `toml:"node"`
	Balancer   Balancer `toml:"balancer"`
	// ACME is the [acme] table; nil (automatic HTTPS off) without one.
	ACME *ACME `toml:"acme,omitempty"`
}

// Database says where the CMS keeps its content.
type Database struct {
	Driver string `toml:"driver"` // "sqlite" (default) or "mysql"
	Path   string `toml:"path"`   // sqlite file (default data/orchard.db)
	// Primary and Replicas are go-sql-driver/mysql DSNs. A DSN may leave the
	// password out; it then comes from PasswordFile or the variable PasswordEnv.
	Primary      string   `toml:"primary"`
	Replicas     []string `toml:"replicas"`
	PasswordFile string   `toml:"password_file"`
	PasswordEnv  string   `toml:"password_env"` // default ORCHARD_DB_PASSWORD
	MaxLag       Duration `toml:"max_lag"`      // replicas further behind are skipped (default 5s)
}

// Master is the node that holds the CMS, builds releases and publishes them.
type Master struct {
	Listen       string `toml:"listen"`        // dynamic rendering of every site
	Admin        string `toml:"admin"`         // admin UI (keep it on the LAN)
	Control      string `toml:"control"`       // sync/status API for the nodes
	Data         string `toml:"data"`          // blobs, releases, site directories
	KeepReleases int    `toml:"keep_releases"` // releases kept per site for rollback (default 10)
}

// Node is one web node.
type Node struct {
	Name              string   `toml:"name"`
	Listen            string   `toml:"listen"`              // site traffic
	Control           string   `toml:"control"`             // control API
	Data              string   `toml:"data"`                // blobs and active releases
	MaxConns          int      `toml:"max_conns"`           // like nginx worker_connections (default 10000)
	KeepAlive         Duration `toml:"keepalive"`           // idle keep-alive timeout (default 30s)
	ReadHeaderTimeout Duration `toml:"read_header_timeout"` // against slowloris (default 10s)
	MaxHeaderBytes    int      `toml:"max_header_bytes"`    // default 16384
	CacheBytes        int64    `toml:"cache_bytes"`         // hot blobs kept in memory (default 128 MiB)
	CatchUp           Duration `toml:"catch_up"`            // how often to ask the master for missed releases (default 5s)
	Workers           int      `toml:"workers"`             // CPUs that serve (like nginx worker_processes); 0 = every CPU
	SiteMetrics       int      `toml:"site_metrics"`        // sites, the busiest, with their own /metrics series (default 20; -1 none)
}

// Balancer is the reverse proxy in front of the nodes.
type Balancer struct {
	Listen        string   `toml:"listen"`
	Manager       string   `toml:"manager"`       // manager UI path (default /orchard-manager)
	ManagerAllow  []string `toml:"manager_allow"` // CIDRs allowed to reach the manager (default loopback)
	Control       string   `toml:"control"`       // metrics and health (optional)
	Data          string   `toml:"data"`          // persisted manager state
	AccessLog     string   `toml:"access_log"`    // combined log file; "-" = stdout; "" = off
	MaxConns      int      `toml:"max_conns"`     // client connections (default 10000)
	Workers       int      `toml:"workers"`       // CPUs that proxy (like HAProxy nbthread); 0 = every CPU
	EventLoops    *bool    `toml:"event_loops"`   // proxy on event loops, one per worker (Linux; default true); false = a goroutine per connection
	Retries       int      `toml:"retries"`       // extra members tried for a failed GET/HEAD (default 2; -1 = none)
	RetryAfter    Duration `toml:"retry"`         // a member in error is retried after this (default 10s)
	CacheBytes    int64    `toml:"cache_bytes"`   // edge cache bound; 0 = default 256 MiB, -1 = off
	TLSCert       string   `toml:"tls_cert"`
	TLSKey        string   `toml:"tls_key"`
	TLSListen     string   `toml:"tls_listen"`
	RedirectHTTPS bool     `toml:"redirect_https"`
	Health        Health   `toml:"health"`
	Timeouts      Timeouts `toml:"timeouts"`
	Pools         []Pool   `toml:"pool"`
	VHosts        []VHost  `toml:"vhost"`
	// VRRP and Peers make a tier of several balancers sharing one virtual
	// address (tier.go); without peers the file describes one balancer.
	VRRP  VRRP   `toml:"vrrp"`
	Peers []Peer `toml:"peer"`
	// Name is the peer this Balancer was resolved for (Config.BalancerNamed);
	// "" for a single balancer.
	Name string `toml:"-"`
}

// Timeouts bound every side of the balancer; zero means the default.
type Timeouts struct {
	ReadHeader Duration `toml:"read_header"` // to read a request (default 10s)
	Idle       Duration `toml:"idle"`        // keep-alive between requests (default 60s)
	Write      Duration `toml:"write"`       // to write a response (default 60s)
	Dial       Duration `toml:"dial"`        // to connect to a member (default 3s)
	Response   Duration `toml:"response"`    // for a member's whole response (default 30s)
	Drain      Duration `toml:"drain"`       // stop waits this long for requests in flight (default 10s)
}

// Health configures the balancer's active health checks.
type Health struct {
	Interval Duration `toml:"interval"` // default 2s
	Timeout  Duration `toml:"timeout"`  // default 1s
	Rise     int      `toml:"rise"`     // passes before a member is up again (default 2)
	Fall     int      `toml:"fall"`     // failures before a member is down (default 3)
}

// Pool is a group of members that serve the same sites.
type Pool struct {
	Name   string `toml:"name"`
	Method string `toml:"method"` // byrequests (default), bytraffic, bybusyness, hash
	// MemberNames lists node names; Weights and Standby refine them.
	MemberNames  []string       `toml:"members"`
	Weights      map[string]int `toml:"weights"`       // weight per member (default 1)
	Standby      []string       `toml:"standby"`       // hot standby members, used only when no other is usable
	MaxInFlight  int            `toml:"max_in_flight"` // per member; 0 = unlimited
	QueueSize    int            `toml:"queue"`         // requests waiting for a member (default 1000)
	QueueTimeout Duration       `toml:"queue_timeout"` // then 503 (default 5s)
	SlowStart    Duration       `toml:"slowstart"`     // ramp-up after recovery (default 10s)
	FailOnStatus []int          `toml:"failonstatus"`  // statuses that count as member failures
	Members      []PoolMember   `toml:"-"`             // resolved from the fields above
}

// PoolMember is one resolved member of a pool.
type PoolMember struct {
	Name    string
	Weight  int
	Standby bool
	Listen  string // the node's traffic address
	Control string // the node's control address (health checks)
}

// VHost maps host names to a pool.
type VHost struct {
	Hosts     []string `toml:"hosts"` // exact names, "*.example.com" or "*"
	Pool      string   `toml:"pool"`
	Deny      []string `toml:"deny"`       // path patterns refused with 403, e.g. "/admin/*"
	DenyAllow []string `toml:"deny_allow"` // CIDRs exempt from Deny
}

// Node returns the node called name.
func (c *Config) Node(name string) (*Node, error) {
	for i := range c.Nodes {
		if c.Nodes[i].Name == name {
			return &c.Nodes[i], nil
		}
	}
	names := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		names[i] = n.Name
	}
	return nil, fmt.Errorf("%s: no node named %q (nodes: %v)", c.Path, name, names)
}

// Duration is a time.Duration written in TOML as a string like "30s".
type Duration struct{ time.Duration }

// UnmarshalText parses "30s", "1m30s" and the like.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (use e.g. \"30s\", \"5m\")", b)
	}
	if v < 0 {
		return fmt.Errorf("duration %q is negative", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as "30s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }
