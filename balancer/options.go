package balancer

import (
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/orchardhq/orchard"
)

// Defaults for Options fields left zero.
const (
	DefaultManagerPath       = "/orchard-manager"
	DefaultMaxConns          = 10000
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultDialTimeout       = 3 * time.Second
	DefaultResponseTimeout   = 30 * time.Second
	DefaultMaxHeaderBytes    = 16 << 10
	DefaultMaxRequestBytes   = 1 << 20
	DefaultMaxResponseBytes  = 64 << 20
	DefaultRetries           = 2
	DefaultRetryAfter        = 10 * time.Second
	DefaultHealthInterval    = 2 * time.Second
	DefaultHealthTimeout     = time.Second
	DefaultRise              = 2
	DefaultFall              = 3
	DefaultQueueSize         = 1000
	DefaultQueueTimeout      = 5 * time.Second
	DefaultSlowStart         = 10 * time.Second
	DefaultDrainTimeout      = 10 * time.Second
	// HealthHistory is how many health checks of each member are kept.
	HealthHistory = 20
)

// Methods a pool can use to pick a member.
const (
	ByRequests = "byrequests"
	ByTraffic  = "bytraffic"
	ByBusyness = "bybusyness"
	ByHash     = "hash"
)

// Options is everything a balancer needs; cmd/orchard fills it from the
// cluster file. Listener settings (addresses, TLS, timeouts, limits) are
// read once by Listen; Reload replaces the rest.
type Options struct {
	Listen        string // traffic address; default 127.0.0.1:0
	TLSListen     string // HTTPS (HTTP/1.1 and HTTP/2) address; "" = none
	TLSCert       string // PEM certificate chain file, with TLSKey
	TLSKey        string // PEM private key file
	RedirectHTTPS bool   // plain-HTTP requests get 308 to https:// (needs TLSListen)
	// PushedCerts lets the TLS listener start without TLSCert: the master
	// pushes certificates over the control listener (orchard.CertsPath),
	// which needs Control and ControlAuth.
	PushedCerts bool
	Control     string // /metrics and /_orchard/health; "" = none

	// Metrics, when set, serves /metrics on Control instead of the
	// built-in text (cmd/orchard adds host statistics this way).
	Metrics http.Handler

	// ControlAuth, when set, wraps the signed control endpoints
	// (orchard.RefreshPath) so that only the cluster's own processes reach them
	// (cmd/orchard passes the publish protocol's signature check); when
	// nil they are not served.
	ControlAuth func(http.Handler) http.Handler

	// Peers are the other balancers of a tier: manager actions are sent
	// to them too, the manager page shows their view, and Listen adopts
	// their newer actions. Read at New; a reload keeps them.
	Peers []Peer

	ManagerPath  string           // manager UI; default /orchard-manager; "-" = none
	ManagerAllow []netip.Prefix   // client addresses allowed to the manager; default loopback
	DataDir      string           // persisted manager state; "" = kept in memory only
	AccessLog    io.Writer        // Apache combined log; nil = none
	Logger       *slog.Logger     // default: discard
	Pools        []Pool           // at least one
	VHosts       []VHost          // host names -> pools; checked in order
	Health       HealthOptions    // active checks
	Clock        func() time.Time // for tests; default time.Now

	Retries    int           // extra members tried for a failed GET/HEAD; default 2, <0 = none
	RetryAfter time.Duration // a member in error is tried again after this; default 10s

	MaxConns          int           // client connections; default 10000
	ReadHeaderTimeout time.Duration // to read a request (line, headers, body); default 10s
	IdleTimeout       time.Duration // keep-alive between requests; default 60s
	WriteTimeout      time.Duration // to write a response; default 60s
	DialTimeout       time.Duration // to connect to a member; default 3s
	ResponseTimeout   time.Duration // for a member's whole response; default 30s
	DrainTimeout      time.Duration // Close waits this long for requests in flight; default 10s
	MaxHeaderBytes    int           // request line and headers; default 16 KiB
	MaxRequestBytes   int           // request body; default 1 MiB
	MaxResponseBytes  int           // member response body; default 64 MiB
	CacheBytes        int64         // edge cache bound in bytes; 0 = no edge cache
	// Loops is how many event loops serve the plain listener (Linux):
	// 0 = one per CPU the Go runtime uses (GOMAXPROCS), <0 = none, a
	// goroutine per connection (as on other systems).
	Loops int
	// LoopsKeepCPUs has each loop keep its CPU (its P) while it waits
	// for events: for a process whose Go runtime has a CPU more than
	// Loops (GOMAXPROCS) and runs no other balancer; otherwise the loops
	// would starve the rest of the process.
	LoopsKeepCPUs bool
	Version       string // reported by the control listener
}

// Pool is a group of members serving the same sites.
type Pool struct {
	Name         string
	Method       string           // ByRequests (default), ByTraffic, ByBusyness, ByHash
	Members      []orchard.Member // at least one
	MaxInFlight  int              // per member; 0 = unlimited
	QueueSize    int              // requests waiting for a free member; default 1000
	QueueTimeout time.Duration    // then 503 with Retry-After; default 5s
	SlowStart    time.Duration    // share ramps up over this after recovery; default 10s, <0 = none
	FailOnStatus []int            // member statuses that count as failures (e.g. 503)
}

// VHost maps host names to a pool.
type VHost struct {
	Hosts     []string       // exact names, "*.example.com" or "*"
	Pool      string         // a Pool's Name
	Deny      []string       // path patterns answered 403, e.g. "/admin/*"; '*' matches anything
	DenyAllow []netip.Prefix // client addresses exempt from Deny
}

// HealthOptions configures active health checks.
type HealthOptions struct {
	Interval time.Duration // between checks of a member; default 2s
	Timeout  time.Duration // for one check; default 1s
	Rise     int           // passes before a member in error is used again; default 2
	Fall     int           // failures before a member is put in error; default 3
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.ManagerPath == "" {
		o.ManagerPath = DefaultManagerPath
	}
	if o.ManagerAllow == nil {
		o.ManagerAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Retries == 0 {
		o.Retries = DefaultRetries
	} else if o.Retries < 0 {
		o.Retries = 0
	}
	o.RetryAfter = orchard.OrDefault(o.RetryAfter, DefaultRetryAfter)
	o.ReadHeaderTimeout = orchard.OrDefault(o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	o.IdleTimeout = orchard.OrDefault(o.IdleTimeout, DefaultIdleTimeout)
	o.WriteTimeout = orchard.OrDefault(o.WriteTimeout, DefaultWriteTimeout)
	o.DialTimeout = orchard.OrDefault(o.DialTimeout, DefaultDialTimeout)
	o.ResponseTimeout = orchard.OrDefault(o.ResponseTimeout, DefaultResponseTimeout)
	o.DrainTimeout = orchard.OrDefault(o.DrainTimeout, DefaultDrainTimeout)
	o.Health.Interval = orchard.OrDefault(o.Health.Interval, DefaultHealthInterval)
	o.Health.Timeout = orchard.OrDefault(o.Health.Timeout, DefaultHealthTimeout)
	o.Health.Rise = orchard.OrDefault(o.Health.Rise, DefaultRise)
	o.Health.Fall = orchard.OrDefault(o.Health.Fall, DefaultFall)
	o.MaxConns = orchard.OrDefault(o.MaxConns, DefaultMaxConns)
	if o.Loops == 0 {
		o.Loops = runtime.GOMAXPROCS(0)
	}
	o.MaxHeaderBytes = orchard.OrDefault(o.MaxHeaderBytes, DefaultMaxHeaderBytes)
	o.MaxRequestBytes = orchard.OrDefault(o.MaxRequestBytes, DefaultMaxRequestBytes)
	o.MaxResponseBytes = orchard.OrDefault(o.MaxResponseBytes, DefaultMaxResponseBytes)
	pools := make([]Pool, len(o.Pools))
	for i, p := range o.Pools {
		if p.Method == "" {
			p.Method = ByRequests
		}
		p.QueueSize = orchard.OrDefault(p.QueueSize, DefaultQueueSize)
		p.QueueTimeout = orchard.OrDefault(p.QueueTimeout, DefaultQueueTimeout)
		if p.SlowStart == 0 {
			p.SlowStart = DefaultSlowStart
		} else if p.SlowStart < 0 {
			p.SlowStart = 0
		}
		ms := make([]orchard.Member, len(p.Members))
		for j, m := range p.Members {
			if m.Weight == 0 {
				m.Weight = 1
			}
			ms[j] = m
		}
		p.Members = ms
		pools[i] = p
	}
	o.Pools = pools
	return o
}

// validate checks options that came through withDefaults and returns an
// EINVALID *Error naming the first problem.
func (o *Options) validate() error {
	if o.ManagerPath != "-" {
		if !strings.HasPrefix(o.ManagerPath, "/") || strings.ContainsAny(o.ManagerPath, " ?#%\\") ||
			strings.Contains(o.ManagerPath, "//") || strings.Contains(o.ManagerPath, "/.") || len(o.ManagerPath) > 200 {
			return orchard.Errorf(orchard.EINVALID, "Manager path %q must be a plain path starting with '/'.", o.ManagerPath)
		}
		if o.ManagerPath == "/" || hasReservedPrefix(o.ManagerPath) {
			return orchard.Errorf(orchard.EINVALID, "Manager path %q must not be / or under /_orchard/.", o.ManagerPath)
		}
	}
	if (o.TLSCert == "") != (o.TLSKey == "") || (o.TLSListen != "" && o.TLSCert == "" && !o.PushedCerts) {
		return orchard.Errorf(orchard.EINVALID, "TLS needs a listen address, a certificate and a key.")
	}
	if o.PushedCerts && (o.Control == "" || o.ControlAuth == nil) {
		return orchard.Errorf(orchard.EINVALID, "Certificates pushed by the master need a signed control listener.")
	}
	if o.RedirectHTTPS && o.TLSListen == "" {
		return orchard.Errorf(orchard.EINVALID, "Redirecting to HTTPS needs a TLS listener.")
	}
	if len(o.Pools) == 0 {
		return orchard.Errorf(orchard.EINVALID, "The balancer needs at least one pool.")
	}
	pools := map[string]bool{}
	for _, p := range o.Pools {
		if p.Name == "" || pools[p.Name] {
			return orchard.Errorf(orchard.EINVALID, "Pool names must be set and unique (%q).", p.Name)
		}
		pools[p.Name] = true
		switch p.Method {
		case ByRequests, ByTraffic, ByBusyness, ByHash:
		default:
			return orchard.Errorf(orchard.EINVALID, "Pool %s: method %q is not byrequests, bytraffic, bybusyness or hash.", p.Name, p.Method)
		}
		if len(p.Members) == 0 {
			return orchard.Errorf(orchard.EINVALID, "Pool %s has no members.", p.Name)
		}
		seen := map[string]bool{}
		for i := range p.Members {
			m := &p.Members[i]
			if err := m.Validate(); err != nil {
				return orchard.Errorf(orchard.EINVALID, "Pool %s: %s", p.Name, orchard.ErrorMessage(err))
			}
			if seen[m.Name] {
				return orchard.Errorf(orchard.EINVALID, "Pool %s lists member %s twice.", p.Name, m.Name)
			}
			seen[m.Name] = true
		}
		if p.MaxInFlight < 0 {
			return orchard.Errorf(orchard.EINVALID, "Pool %s: max in flight must not be negative.", p.Name)
		}
		for _, s := range p.FailOnStatus {
			if s < 100 || s > 599 {
				return orchard.Errorf(orchard.EINVALID, "Pool %s: %d is not an HTTP status.", p.Name, s)
			}
		}
	}
	for i, v := range o.VHosts {
		if !pools[v.Pool] {
			return orchard.Errorf(orchard.EINVALID, "Virtual host %d names pool %q, which does not exist.", i+1, v.Pool)
		}
		if len(v.Hosts) == 0 {
			return orchard.Errorf(orchard.EINVALID, "Virtual host %d has no host names.", i+1)
		}
		for _, h := range v.Hosts {
			if _, err := normalizeVHostName(h); err != nil {
				return err
			}
		}
		for _, d := range v.Deny {
			if !strings.HasPrefix(d, "/") || len(d) > orchard.MaxPathLen {
				return orchard.Errorf(orchard.EINVALID, "Deny pattern %q must start with '/'.", d)
			}
		}
	}
	if o.Health.Rise < 1 || o.Health.Fall < 1 || o.Health.Timeout > o.Health.Interval {
		return orchard.Errorf(orchard.EINVALID, "Health checks need rise and fall of at least 1 and a timeout no longer than the interval.")
	}
	return nil
}

// normalizeVHostName accepts "*", "*.example.com" or a host name and
// returns its canonical form.
func normalizeVHostName(name string) (string, error) {
	if name == "*" {
		return name, nil
	}
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		h, err := orchard.NormalizeHost(rest)
		if err != nil {
			return "", err
		}
		return "*." + h, nil
	}
	return orchard.NormalizeHost(name)
}
