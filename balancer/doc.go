// Package balancer is orchard's reverse proxy in front of the web nodes:
// Apache's mod_proxy_balancer and balancer-manager, done safer and faster.
//
// Virtual hosts (exact names, "*.example.com" wildcards and "*") map to
// pools of members (orchard.Member). A pool picks a member by its method:
// byrequests (Apache's lbfactor/lbstatus: over time each member's share of
// requests matches its weight), bytraffic (share of bytes), bybusyness
// (fewest requests in flight) or hash (client address, for stickiness).
// Members are hot standby, disabled, draining or in error; active health
// checks read each member's orchard.HealthPath (interval, rise, fall,
// timeout, with a history shown in the manager) and passive detection marks
// a member in error when a request to it fails (refused, reset, timeout, or
// a status in the pool's FailOnStatus). A failed GET or HEAD is retried on
// another member before the client sees anything; a member in error is
// tried again after Options.RetryAfter and ramps up over the pool's
// SlowStart; when every member is in error they are tried anyway (Apache's
// forcerecovery). MaxInFlight bounds each member's requests in flight, and
// a bounded queue with a timeout (then 503 with Retry-After) absorbs spikes.
//
// The balancer is never an open proxy: CONNECT, absolute-form requests for
// hosts not configured, a request line whose authority disagrees with the
// Host header, and every path under /_orchard/ are refused. Paths are
// checked (deny patterns, the manager path, /_orchard/) in the canonical
// form of orchard.CleanRequestPath, and that same form is what the member
// receives. Hop-by-hop headers are stripped both ways; X-Forwarded-For,
// -Proto and -Host are set by the balancer and never taken from the client,
// nor is any X-Orchard-* request header.
//
// Release-aware routing: from health checks and the X-Orchard-Release
// header of responses the balancer knows which release of each site each
// member serves, and sends a site's requests to members holding its newest
// release (the one members most recently moved to), falling back to any
// usable member. The optional edge cache keys responses by (host, path,
// encoding, release), so a publish changes every key and needs no purge.
//
// Plain HTTP/1.1 traffic is served by a hand-written loop (fastloop.go)
// that parses heads in place, keeps its own keep-alive connections to
// members and passes responses through with only their head rewritten;
// what it does not handle goes to valyala/fasthttp's server, with one
// fasthttp.HostClient per member, as does HTTP/1.1 over TLS.
//
// Event loops. On Linux, with the edge cache off, that loop's common case
// (a well-formed request proxied to a member with room) runs on event
// loops instead of a goroutine per connection (loops_linux.go,
// loopconn_linux.go): Options.Loops loops, each on its own OS thread
// waiting in its own epoll_wait, as HAProxy's threads do, owning its
// client connections and its keep-alive connections to members. A loop
// never blocks: members are dialed in a goroutine, and deadlines (idle,
// read header, response, write) are checked by a sweep every 20 ms. A
// loop hands a connection to the goroutine path, with the bytes it read,
// for everything else, and for the retries of a failed attempt. On a
// machine shared with the members and the clients, goroutines woken by
// Go's poller waited for a CPU twice as long as HAProxy's threads, which
// cost the p99 (docs/balancer-speed.md); the loops closed that gap. The manager UI and JSON, the
// control listener (/metrics, /_orchard/health) and the TLS listener (which
// needs HTTP/2, which fasthttp lacks) are net/http.
//
//	b := balancer.New(balancer.Options{Pools: pools, VHosts: vhosts, ...})
//	err := b.Listen(ctx)      // 127.0.0.1:0 works; b.Addr() reports it
//	res, err := b.Reload(newOpts) // SIGHUP: applies what it can, names what needs a restart
//	err = b.Close()           // drains in-flight requests, idempotent
package balancer
