package balancer

import (
	"context"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orchardhq/orchard"
)

// Operator (manager) states of a member.
const (
	adminOK int32 = iota
	adminDisabled
	adminDraining
)

// member is the running state of one pool member. It outlives reloads that
// keep its pool, name and addresses, so its counters, health and manager
// state survive them.
type member struct {
	pool    string
	cfg     orchard.Member
	hc      atomic.Pointer[fasthttp.HostClient] // replaced by a Reload that changes member timeouts
	up      atomic.Pointer[upstream]            // the fast loop's connections; replaced with hc
	weight  atomic.Int32                        // effective weight: configured, or set in the manager
	standby atomic.Bool                         // hot standby (cfg.Standby, which Reload may change)
	admin   atomic.Int32                        // adminOK, adminDisabled, adminDraining

	// Health. down is set by Fall failed checks (retryAt = never) or by a
	// failed request (retryAt = now + RetryAfter, then one request tries
	// it); Rise passed checks, or a request that succeeds after retryAt,
	// clear it. upSince starts the slow-start ramp.
	down    atomic.Bool
	retryAt atomic.Int64 // unix ns
	upSince atomic.Int64 // unix ns of the last recovery; 0 = never down

	inflight atomic.Int64
	requests atomic.Uint64
	bytesIn  atomic.Uint64 // request bytes sent to the member
	bytesOut atomic.Uint64 // response bytes received from it
	errors   atomic.Uint64
	lat      latency

	lbstatus int64 // byrequests state; guarded by the pool's mu

	releases atomic.Pointer[siteTable] // site -> active release, copy on write
	relAt    atomic.Int64              // unix ns: start of the request that last changed releases

	hmu     sync.Mutex // guards the fields below
	passes  int
	fails   int
	history []check // newest last, at most HealthHistory
	lastErr string
	// relVersion is the version of the member's list of releases that
	// releases reflects, sent back with each check (releases.go), from
	// the check that started at relVersionAt.
	relVersion   string
	relVersionAt int64
	stop         func()                // ends the health loop and waits for it
	halt         func() (wait func())  // ends the health loop; wait waits for it
	check        func(context.Context) // one health check now; nil without a health address
}

// client returns the member's current connection pool.
func (m *member) client() *fasthttp.HostClient { return m.hc.Load() }

// check is one active health check.
type check struct {
	Time    time.Time     `json:"time"`
	OK      bool          `json:"ok"`
	Latency time.Duration `json:"latency_ns"`
	Error   string        `json:"error,omitempty"`
}

// usable reports whether the member may take a new request now, health and
// operator state considered (limits are the pool's business).
func (m *member) usable(now int64) bool {
	if m.admin.Load() != adminOK {
		return false
	}
	return !m.down.Load() || now >= m.retryAt.Load()
}

// factor is the member's effective lbfactor at now: weight × 100, ramped
// up linearly over slowStart after a recovery (never below a tenth).
func (m *member) factor(now int64, slowStart time.Duration) int64 {
	f := int64(m.weight.Load()) * 100
	if slowStart <= 0 {
		return f
	}
	if up := m.upSince.Load(); up != 0 {
		if el := now - up; el < int64(slowStart) {
			r := f * el / int64(slowStart)
			return max(r, f/10, 1)
		}
	}
	return f
}

// state is the member's state as the manager shows it.
func (m *member) state(now int64) string {
	switch m.admin.Load() {
	case adminDisabled:
		return orchard.MemberDisabled
	case adminDraining:
		return orchard.MemberDraining
	}
	if m.down.Load() {
		return orchard.MemberError
	}
	if m.standby.Load() {
		return orchard.MemberStandby
	}
	return orchard.MemberOK
}

// failed records a failed request (passive detection): the member is in
// error until retryAt. It reports whether the member was usable before.
func (m *member) failed(now int64, retry time.Duration) bool {
	m.errors.Add(1)
	m.hmu.Lock()
	m.passes = 0
	m.hmu.Unlock()
	if m.retryAt.Load() != math.MaxInt64 {
		m.retryAt.Store(now + int64(retry))
	}
	return !m.down.Swap(true)
}

// succeeded records a good answer: a member tried after retryAt is back.
func (m *member) succeeded(now int64) {
	if m.down.Load() && m.retryAt.Load() != math.MaxInt64 {
		m.recover(now)
	}
}

// recover puts the member back in service and starts its slow start.
func (m *member) recover(now int64) {
	if m.down.CompareAndSwap(true, false) {
		m.upSince.Store(now)
		m.retryAt.Store(0)
	}
}

// release returns the member's active release of site ("" if unknown).
func (m *member) release(site []byte) string {
	return m.releases.Load().get(site)
}

// latency is a lock-free histogram of response times: 4 buckets per power
// of two of microseconds, good to about 20% at any percentile.
type latency struct {
	b [256]atomic.Uint64
}

func latencyBucket(d time.Duration) int {
	us := uint64(d / time.Microsecond)
	if us < 4 {
		return int(us)
	}
	n := bits.Len64(us) // 3..64
	sub := (us >> (n - 3)) & 3
	return min((n-2)*4+int(sub), 255)
}

func (l *latency) add(d time.Duration) { l.b[latencyBucket(d)].Add(1) }

// quantile returns the upper bound of the bucket holding quantile q.
func (l *latency) quantile(q float64) time.Duration {
	var total uint64
	var counts [256]uint64
	for i := range l.b {
		counts[i] = l.b[i].Load()
		total += counts[i]
	}
	if total == 0 {
		return 0
	}
	want := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, c := range counts {
		seen += c
		if seen >= want {
			return bucketUpper(i)
		}
	}
	return bucketUpper(255)
}

func bucketUpper(i int) time.Duration {
	if i < 4 {
		return time.Duration(i+1) * time.Microsecond
	}
	n := i/4 + 2
	sub := uint64(i % 4)
	us := (4 + sub + 1) << (n - 3)
	return time.Duration(us) * time.Microsecond
}
