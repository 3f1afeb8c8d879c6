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
// close, 1xx) and bodies are discarded without copying them out. Counters are
// per worker (atomics only for the live progress line) and latencies reach the
// shared histogram in batches of 256, so the hot path takes no lock and
// allocates nothing. net/http's client allocates a Request, a Response and
// header maps per request and copies bodies through io.Copy.
package bench
