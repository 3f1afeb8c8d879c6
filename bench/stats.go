package bench

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds from 1 µs to 1 hour, 3 significant
// figures.
const (
	histMin     = 1
	histMax     = int64(time.Hour / time.Microsecond)
	histSigFigs = 3
	latBatch    = 256 // latencies a worker keeps before taking the lock
)

// errKind is the kind of a failed request: no response came back.
type errKind int

const (
	kindRefused errKind = iota
	kindReset
	kindTimeout
	kindOther
	numKinds
)

// classify sorts a request error into refused, reset (the server closed or
// reset the connection), timeout or other (bad response, TLS, DNS...).
func classify(err error) errKind {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return kindRefused
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return kindTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF):
		return kindReset
	default:
		return kindOther
	}
}

// counters are a worker's totals that the progress line reads while it runs.
type counters struct {
	transactions atomic.Int64
	failed       atomic.Int64
	bytes        atomic.Int64
}

// tally is a worker's private statistics, merged once the worker is done.
type tally struct {
	successful int64
	responses  int64         // responses of any status
	respTime   time.Duration // sum over responses
	longest    time.Duration
	shortest   time.Duration // valid when responses > 0
	statuses   [600]int64
	errs       [numKinds]int64
	firstErr   [numKinds]string
	lat        [latBatch]int64
	nlat       int
}

// latencies is the histogram all workers feed, a batch at a time.
type latencies struct {
	mu   sync.Mutex
	hist *hdrhistogram.Histogram
}

func newLatencies() *latencies {
	return &latencies{hist: hdrhistogram.New(histMin, histMax, histSigFigs)}
}

func (l *latencies) add(vs []int64) {
	l.mu.Lock()
	for _, v := range vs {
		l.hist.RecordValue(min(max(v, histMin), histMax))
	}
	l.mu.Unlock()
}

// Errors counts failed requests by kind, and responses with a status other
// than 2xx or 3xx.
type Errors struct {
	// Refused counts connections the server refused.
	Refused int64 `json:"refused"`
	// Reset counts connections the server reset or closed before a whole
	// response arrived.
	Reset int64 `json:"reset"`
	// Timeout counts requests that did not complete within the timeout.
	Timeout int64 `json:"timeout"`
	// Other counts other failures: malformed responses, TLS or DNS errors.
	Other int64 `json:"other"`
	// Status counts responses whose status was not 2xx or 3xx.
	Status int64 `json:"non_2xx_3xx"`
}

// Latency holds latency percentiles from the HDR histogram (microsecond
// resolution, 3 significant figures).
type Latency struct {
	P50, P90, P99, P999, Max, Mean time.Duration
}

// Result is what a run measured. Its counts follow siege: Transactions are
// responses other than 5xx and 408; Failed counts requests that got no
// response plus 5xx and 408 responses; Availability is
// Transactions / (Transactions + Failed).
type Result struct {
	// Users is the configured concurrency.
	Users int
	// Rate is the configured arrival rate (0: closed model).
	Rate float64
	// Elapsed is the length of the run.
	Elapsed time.Duration
	// Transactions counts responses other than 5xx and 408 (siege's hits).
	Transactions int64
	// Successful counts responses with status below 400, 401 or 407.
	Successful int64
	// Failed counts requests without a response and 5xx or 408 responses.
	Failed int64
	// Responses counts responses of any status.
	Responses int64
	// Bytes counts response body bytes.
	Bytes int64
	// ResponseTimeTotal sums the time of every response.
	ResponseTimeTotal time.Duration
	// Longest and Shortest are the slowest and fastest response.
	Longest, Shortest time.Duration
	// Status counts responses by status code.
	Status map[int]int64
	// Errors counts failures by kind.
	Errors Errors
	// FirstErrors holds one example message per failure kind that occurred.
	FirstErrors []string
	// Latency holds the percentiles of every response's time; with Rate it
	// is measured from each request's intended start.
	Latency Latency
	// Interrupted is set when the run was cancelled before it was done.
	Interrupted bool

	hist *hdrhistogram.Histogram
}

// Availability is siege's: the share of transactions among transactions and
// failures, in percent (0 when nothing succeeded).
func (r *Result) Availability() float64 {
	if r.Transactions == 0 {
		return 0
	}
	return float64(r.Transactions) / float64(r.Transactions+r.Failed) * 100
}

// ResponseTime is siege's mean response time: total response time over
// transactions.
func (r *Result) ResponseTime() time.Duration {
	if r.Transactions == 0 {
		return 0
	}
	return r.ResponseTimeTotal / time.Duration(r.Transactions)
}

// TransactionRate is transactions per second of elapsed time.
func (r *Result) TransactionRate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Transactions) / r.Elapsed.Seconds()
}

// Megabytes is the body data transferred in MiB, as siege reports it.
func (r *Result) Megabytes() float64 { return float64(r.Bytes) / (1 << 20) }

// Throughput is body data in MiB per second of elapsed time.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return r.Megabytes() / r.Elapsed.Seconds()
}

// Concurrency is siege's achieved concurrency: total response time over
// elapsed time.
func (r *Result) Concurrency() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return r.ResponseTimeTotal.Seconds() / r.Elapsed.Seconds()
}

// Percentile returns the latency at percentile p (0..100).
func (r *Result) Percentile(p float64) time.Duration {
	if r.hist == nil || r.hist.TotalCount() == 0 {
		return 0
	}
	return time.Duration(r.hist.ValueAtPercentile(p)) * time.Microsecond
}

// Snapshot is the progress of a run so far.
type Snapshot struct {
	// Elapsed is the time since the run started.
	Elapsed time.Duration
	// Transactions, Failed and Bytes are as in Result, so far.
	Transactions, Failed, Bytes int64
}

// merge builds the Result from the workers' totals.
func merge(workers []*worker, lat *latencies) *Result {
	r := &Result{Status: map[int]int64{}, hist: lat.hist}
	var errs [numKinds]int64
	first := [numKinds]string{}
	for _, w := range workers {
		if w == nil {
			continue
		}
		r.Transactions += w.c.transactions.Load()
		r.Failed += w.c.failed.Load()
		r.Bytes += w.c.bytes.Load()
		t := &w.t
		r.Successful += t.successful
		if t.responses > 0 {
			if r.Responses == 0 || t.shortest < r.Shortest {
				r.Shortest = t.shortest
			}
			r.Longest = max(r.Longest, t.longest)
		}
		r.Responses += t.responses
		r.ResponseTimeTotal += t.respTime
		for code, n := range t.statuses {
			if n > 0 {
				r.Status[code] += n
				if code < 200 || code >= 400 {
					r.Errors.Status += n
				}
			}
		}
		for k := range numKinds {
			errs[k] += t.errs[k]
			if first[k] == "" {
				first[k] = t.firstErr[k]
			}
		}
	}
	r.Errors.Refused, r.Errors.Reset, r.Errors.Timeout, r.Errors.Other =
		errs[kindRefused], errs[kindReset], errs[kindTimeout], errs[kindOther]
	for _, s := range first {
		if s != "" {
			r.FirstErrors = append(r.FirstErrors, s)
		}
	}
	if h := lat.hist; h.TotalCount() > 0 {
		v := h.ValueAtPercentilesSlice([]float64{50, 90, 99, 99.9})
		us := time.Microsecond
		r.Latency = Latency{
			P50: time.Duration(v[0]) * us, P90: time.Duration(v[1]) * us,
			P99: time.Duration(v[2]) * us, P999: time.Duration(v[3]) * us,
			Max: time.Duration(h.Max()) * us, Mean: time.Duration(h.Mean() * float64(us)),
		}
	}
	return r
}
