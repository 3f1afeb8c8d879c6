// Package bench is orchard's load generator: siege's model, flags and
// summary, with latency percentiles from an HDR histogram and an open-model
// mode that does not suffer from coordinated omission.
//
// Run simulates Config.Concurrency users. In the closed model (siege's) each
// user sends a request on its own keep-alive connection, waits for the
// response, waits a random 0..Delay, and repeats until Duration or Reps are
// done. With Rate set, requests are instead scheduled at fixed intended start
// times (Rate per second in total, carried by Concurrency connections) and
// each latency is measured from its intended start, so a server that stalls
// shows up in the percentiles instead of slowing the generator down.
// A user keeps one connection per address it dials (per server name too,
// for https), not per host: a URL file of 10,000 sites behind one balancer
// opens Concurrency connections, as browsers pool by origin address.
//
// Counting follows siege 4: a transaction is any response except 5xx and 408;
// failures are requests that got no response (refused, reset, timeout, other)
// plus 5xx and 408 responses; Availability = transactions / (transactions +
// failures). 404 is a transaction but not a successful one. Requests cut off
// by the end of Duration or by cancellation are not counted at all.
//
// # Why a hand-written HTTP/1.1 client
//
// The generator shares the machine with the server it measures (2 cores), so
// every microsecond it spends per request is taken from the server. Each
// request is rendered to bytes once before the run and sent with one write;
// responses are parsed in place in a reused 16 KB bufio.Reader per connection
// (status line, Content-Length, chunked, close-delimited bodies, Connection:
// close, 1xx, HEAD/204/304) and bodies are discarded without copying them
// out: parsing an 8.7 KB response takes about 0.5 µs and allocates nothing
// (BenchmarkReadResponse). Counters are per worker (atomics only for the live
// progress line) and latencies reach the shared histogram in batches of 256,
// so the hot path takes no lock. What remains is the write and read system
// calls, as in wrk.
//
// Measured against nginx serving one 8.9 KB page, 64 connections, on this
// 2-core machine: wrk and this client both spend about 13 µs of CPU per
// request (user+system) and reach the same requests/s within the machine's
// noise (bench/peers/bench-vs-wrk.sh); fasthttp's HostClient spent 15-16 µs
// and net/http's client allocates a Request, a Response and header maps per
// request. A connection whose server closed it while idle is retried once on
// a new connection before anything is counted, as browsers do.
package bench
