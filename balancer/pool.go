package balancer

import (
	"errors"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of pool.acquire.
var (
	errNoMember  = errors.New("no usable member")
	errQueueFull = errors.New("queue full")
	errQueueWait = errors.New("queue timeout")
)

// pool is the running state of one Pool.
type pool struct {
	Pool
	members   []*member
	failOn    [600]bool
	mu        sync.Mutex // byrequests state, in-flight admission, waiters
	waiters   []chan struct{}
	nwaiting  atomic.Int64
	queueFull atomic.Uint64 // requests refused: queue full or timed out
}

func newPool(p Pool, members []*member) *pool {
	pl := &pool{Pool: p, members: members}
	for _, s := range p.FailOnStatus {
		pl.failOn[s] = true
	}
	return pl
}

// pickReq is what a member choice depends on.
type pickReq struct {
	now     int64
	site    []byte // normalised host, for release-aware routing
	release string // the site's newest release; "" = any
	client  netip.Addr
	tried   [8]*member // members already tried for this request: tried[:ntried]
	ntried  int
}

// exclude keeps m from being picked again for this request.
func (r *pickReq) exclude(m *member) {
	r.tried[r.ntried] = m
	r.ntried++
}

// acquire picks a member for r and counts the request in its in-flight
// number, waiting in the pool's queue while every usable member is at
// MaxInFlight. The caller must call done(m) when the request ends.
func (p *pool) acquire(r *pickReq, stop <-chan struct{}) (*member, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		p.mu.Lock()
		m, full := p.pickLocked(r)
		if m != nil {
			m.inflight.Add(1)
			p.mu.Unlock()
			return m, nil
		}
		if !full {
			p.mu.Unlock()
			return nil, errNoMember
		}
		if len(p.waiters) >= p.QueueSize {
			p.mu.Unlock()
			p.queueFull.Add(1)
			return nil, errQueueFull
		}
		ch := make(chan struct{})
		p.waiters = append(p.waiters, ch)
		p.nwaiting.Add(1)
		p.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(p.QueueTimeout)
		}
		select {
		case <-ch:
			r.now = time.Now().UnixNano()
		case <-timer.C:
			p.leave(ch)
			p.queueFull.Add(1)
			return nil, errQueueWait
		case <-stop:
			p.leave(ch)
			return nil, errQueueWait
		}
	}
}

// tryAcquire is acquire without the queue: nil when every usable member
// is at MaxInFlight, or none is usable (the caller then goes to acquire).
func (p *pool) tryAcquire(r *pickReq) *member {
	p.mu.Lock()
	m, _ := p.pickLocked(r)
	if m != nil {
		m.inflight.Add(1)
	}
	p.mu.Unlock()
	return m
}

// leave removes a waiter that gave up; if it was woken meanwhile, the
// wake-up passes on to the next waiter.
func (p *pool) leave(ch chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, w := range p.waiters {
		if w == ch {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			p.nwaiting.Add(-1)
			return
		}
	}
	p.wakeLocked() // ch was woken: hand its turn on
}

// done ends a request on m and wakes one queued request.
func (p *pool) done(m *member) {
	m.inflight.Add(-1)
	if p.nwaiting.Load() > 0 {
		p.mu.Lock()
		p.wakeLocked()
		p.mu.Unlock()
	}
}

// wakeAll wakes every queued request (after a manager change or recovery).
func (p *pool) wakeAll() {
	p.mu.Lock()
	for len(p.waiters) > 0 {
		p.wakeLocked()
	}
	p.mu.Unlock()
}

func (p *pool) wakeLocked() {
	if len(p.waiters) == 0 {
		return
	}
	ch := p.waiters[0]
	p.waiters = p.waiters[1:]
	p.nwaiting.Add(-1)
	close(ch)
}

// pickLocked chooses a member for r, in this order of candidates: usable
// non-standby members holding the site's newest release, then any usable
// non-standby member, then the same two among hot standbys, then (Apache's
// forcerecovery) every member not disabled or draining. full reports that
// candidates existed but all were at MaxInFlight.
func (p *pool) pickLocked(r *pickReq) (m *member, full bool) {
	var buf [16]*member
	for pass := 0; pass < 5; pass++ {
		standby := pass == 2 || pass == 3
		wantRelease := (pass == 0 || pass == 2) && r.release != ""
		if (pass == 0 || pass == 2) && r.release == "" {
			continue
		}
		cands := buf[:0]
		for _, c := range p.members {
			if excluded(c, r.tried[:r.ntried]) {
				continue
			}
			if pass == 4 {
				if c.admin.Load() != adminOK {
					continue
				}
			} else if c.standby.Load() != standby || !c.usable(r.now) {
				continue
			}
			if wantRelease && c.release(r.site) != r.release {
				continue
			}
			if p.MaxInFlight > 0 && c.inflight.Load() >= int64(p.MaxInFlight) {
				full = true
				continue
			}
			cands = append(cands, c)
		}
		if len(cands) > 0 {
			return p.chooseLocked(cands, r), false
		}
		if full {
			return nil, true
		}
	}
	return nil, false
}

func excluded(m *member, ex []*member) bool {
	for _, e := range ex {
		if e == m {
			return true
		}
	}
	return false
}

// chooseLocked applies the pool's method to a non-empty candidate list.
func (p *pool) chooseLocked(cands []*member, r *pickReq) *member {
	if len(cands) == 1 && p.Method != ByRequests {
		return cands[0]
	}
	switch p.Method {
	case ByTraffic:
		// Fewest bytes per unit of weight (Apache's bytraffic).
		var best *member
		var bestV float64
		for _, c := range cands {
			v := float64(c.bytesIn.Load()+c.bytesOut.Load()) / float64(c.factor(r.now, p.SlowStart))
			if best == nil || v < bestV {
				best, bestV = c, v
			}
		}
		return best
	case ByBusyness:
		// Fewest requests in flight per unit of weight; ties by byrequests.
		var best []*member
		var bestV float64
		var buf [16]*member
		for _, c := range cands {
			v := float64(c.inflight.Load()) / float64(c.factor(r.now, p.SlowStart))
			switch {
			case best == nil || v < bestV:
				best, bestV = append(buf[:0], c), v
			case v == bestV:
				best = append(best, c)
			}
		}
		return p.byRequestsLocked(best, r.now)
	case ByHash:
		return p.byHash(cands, r)
	default:
		return p.byRequestsLocked(cands, r.now)
	}
}

// byRequestsLocked is Apache's lbmethod=byrequests: every candidate's
// lbstatus grows by its lbfactor, the highest wins and pays back the sum,
// so over time each member's share of requests matches its weight.
func (p *pool) byRequestsLocked(cands []*member, now int64) *member {
	var total int64
	var best *member
	for _, c := range cands {
		f := c.factor(now, p.SlowStart)
		c.lbstatus += f
		total += f
		if best == nil || c.lbstatus > best.lbstatus {
			best = c
		}
	}
	best.lbstatus -= total
	return best
}

// byHash is weighted rendezvous hashing of the client address: a client
// keeps its member while that member is usable, and only the clients of a
// member that leaves move.
func (p *pool) byHash(cands []*member, r *pickReq) *member {
	ip := r.client.As16()
	var best *member
	var bestScore float64
	for _, c := range cands {
		h := fnv64(fnv64(fnvOffset, ip[:]), []byte(c.cfg.Name))
		u := (float64(h>>11) + 0.5) / (1 << 53) // (0, 1)
		score := float64(c.factor(r.now, p.SlowStart)) / -math.Log(u)
		if best == nil || score > bestScore {
			best, bestScore = c, score
		}
	}
	return best
}

const fnvOffset = 14695981039346656037

// fnv64 continues an FNV-1a hash over b.
func fnv64(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}
