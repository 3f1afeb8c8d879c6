package monitor

import (
	"maps"
	"math"
	"net/url"
	"sort"
	"time"
)

// Range is a dashboard time range.
type Range struct {
	Name   string        // "hour", "day", "week"
	Span   time.Duration // how far back
	Bucket time.Duration // averaging step; 0 = every scrape
}

// Ranges are the views the dashboard offers.
var Ranges = []Range{
	{"hour", time.Hour, 0},
	{"day", 24 * time.Hour, 5 * time.Minute},
	{"week", 7 * 24 * time.Hour, 30 * time.Minute},
}

// Machine is one target's current state.
type Machine struct {
	Target
	State    string            // "up", "down" (scrape failing) or "waiting" (not scraped yet)
	Member   string            // the balancer's state of it, when it is a member
	LastErr  string            // why the last scrape failed
	LastOK   time.Time         // last successful scrape
	Releases map[string]string // site -> active release
	// Sites and Digest stand for Releases when the target reports more
	// than MaxReleaseSeries sites: how many, and their ReleasesDigest.
	Sites   int
	Digest  uint64
	Version string
	// CertHost's certificate expires first of the target's (the master's,
	// with automatic HTTPS), in CertLeft; "" when it has none.
	CertHost string
	CertLeft time.Duration
}

// Machines returns every target's state, in the order given.
func (s *Scraper) Machines() []Machine {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Machine, 0, len(s.targets))
	for _, t := range s.targets {
		m := Machine{Target: t.Target, Member: t.member, LastErr: t.lastErr, LastOK: t.lastOK,
			Releases: maps.Clone(t.releases), Sites: t.rcount, Digest: t.rdigest, Version: t.version,
			CertHost: t.certHost, CertLeft: time.Duration(t.certLeft * float64(time.Second))}
		switch {
		case t.lastErr != "":
			m.State = "down"
		case t.lastOK.IsZero():
			m.State = "waiting"
		default:
			m.State = "up"
		}
		out = append(out, m)
	}
	return out
}

// Groups returns the group names in the order targets first use them.
func (s *Scraper) Groups() []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range s.opts.Targets {
		if !seen[t.Group] {
			seen[t.Group] = true
			out = append(out, t.Group)
		}
	}
	return out
}

// How each field combines across the targets of a group.
var aggSum = [NumFields]bool{FieldRequests: true, FieldErrors: true, FieldNetIn: true, FieldNetOut: true}

const fieldMax = FieldP99

// hostWide marks the fields that measure a whole machine: processes on one
// machine (the demo runs five on one) report the same traffic, which must
// count once in a sum.
var hostWide = [NumFields]bool{FieldNetIn: true, FieldNetOut: true}

// machineOf names the machine of a target by the host of its metrics URL.
func machineOf(t Target) string {
	if u, err := url.Parse(t.URL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return t.Name
}

// Series returns field over r for the targets selected by match (one
// target's name, a group, or all), combined per time: rates summed, p99 the
// maximum, host gauges averaged.
func (s *Scraper) Series(field int, r Range, match func(Target) bool) []Point {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	type acc struct {
		v float64
		n int
	}
	byTime := map[int64]*acc{}
	counted := map[string]bool{} // machines already summed, for hostWide fields
	for _, t := range s.targets {
		if !match(t.Target) {
			continue
		}
		if hostWide[field] {
			m := machineOf(t.Target)
			if counted[m] {
				continue
			}
			counted[m] = true
		}
		for _, p := range s.targetPoints(t, field, r, now) {
			if math.IsNaN(p.V) {
				if byTime[p.T.UnixNano()] == nil {
					byTime[p.T.UnixNano()] = &acc{}
				}
				continue
			}
			a := byTime[p.T.UnixNano()]
			if a == nil {
				a = &acc{}
				byTime[p.T.UnixNano()] = a
			}
			switch {
			case field == fieldMax:
				if a.n == 0 || p.V > a.v {
					a.v = p.V
				}
			default:
				a.v += p.V
			}
			a.n++
		}
	}
	out := make([]Point, 0, len(byTime))
	for ns, a := range byTime {
		v := math.NaN()
		if a.n > 0 {
			v = a.v
			if !aggSum[field] && field != fieldMax {
				v /= float64(a.n)
			}
		}
		out = append(out, Point{time.Unix(0, ns), v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].T.Before(out[j].T) })
	return out
}

// targetPoints returns one target's field over r; s.mu is held.
func (s *Scraper) targetPoints(t *targetState, field int, r Range, now time.Time) []Point {
	from := now.Add(-r.Span)
	if r.Bucket == 0 {
		var out []Point
		n := len(t.recent)
		for i := range n {
			p := t.recent[(t.next+i)%n]
			if !p.t.Before(from) {
				out = append(out, Point{p.t, p.v[field]})
			}
		}
		return out
	}
	step := int64(r.Bucket / time.Minute)
	first := unixMinute(from) / step * step
	last := unixMinute(now)
	var out []Point
	for b := first; b <= last; b += step {
		sum, n := 0.0, 0
		for m := b; m < b+step && m <= last; m++ {
			var v Values
			var ok bool
			if m == t.acc.minute {
				v, ok = t.acc.avg()
			} else {
				v, ok = t.ring.get(m)
			}
			if ok && !math.IsNaN(v[field]) {
				sum += v[field]
				n++
			}
		}
		v := math.NaN() // a gap
		if n > 0 {
			v = sum / float64(n)
		}
		out = append(out, Point{time.Unix(b*60, 0), v})
	}
	return out
}
