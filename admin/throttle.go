package admin

import (
	"sync"
	"time"
)

// Failed-login throttle: after maxFailures failures within failureWindow,
// for one user or from one address, logins are refused with 429 until the
// oldest failure leaves the window.
const (
	maxFailures   = 5
	failureWindow = 15 * time.Minute
	maxThrottled  = 100000 // keys kept; beyond it the table is swept
)

// throttle counts recent failures per key ("user:SITE/NAME", "addr:IP").
type throttle struct {
	mu     sync.Mutex
	fails  map[string][]time.Time
	now    func() time.Time
	max    int
	window time.Duration
}

func newThrottle(now func() time.Time, max int, window time.Duration) *throttle {
	return &throttle{fails: map[string][]time.Time{}, now: now, max: max, window: window}
}

// reserve counts an attempt against every key before its password is
// checked, so concurrent attempts cannot all pass a check made before any
// of them failed: it returns how long until a login for any of keys may
// be tried again (and counts nothing), or 0 and the time it counted the
// attempt at. The attempt stays counted as a failure unless release takes
// it back.
func (t *throttle) reserve(keys ...string) (wait time.Duration, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, k := range keys {
		f := t.recent(k, now)
		if len(f) >= t.max {
			if d := f[len(f)-t.max].Add(t.window).Sub(now); d > wait {
				wait = d
			}
		}
	}
	if wait > 0 {
		return wait, time.Time{}
	}
	if len(t.fails) > maxThrottled {
		for k := range t.fails {
			if len(t.recent(k, now)) == 0 {
				delete(t.fails, k)
			}
		}
	}
	for _, k := range keys {
		f := append(t.recent(k, now), now)
		if len(f) > t.max {
			f = f[len(f)-t.max:]
		}
		t.fails[k] = f
	}
	return 0, now
}

// release takes back an attempt reserve counted at time at, for an attempt
// that was not a failure (the password was right, or never checked).
func (t *throttle) release(at time.Time, keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		f := t.fails[k]
		for i := len(f) - 1; i >= 0; i-- {
			if f[i].Equal(at) {
				f = append(f[:i:i], f[i+1:]...)
				break
			}
		}
		if len(f) == 0 {
			delete(t.fails, k)
		} else {
			t.fails[k] = f
		}
	}
}

// reset forgets the failures of key (after a successful login).
func (t *throttle) reset(key string) {
	t.mu.Lock()
	delete(t.fails, key)
	t.mu.Unlock()
}

// recent returns the failures of key within the window; t.mu is held.
func (t *throttle) recent(k string, now time.Time) []time.Time {
	f := t.fails[k]
	i := 0
	for i < len(f) && !f[i].Add(t.window).After(now) {
		i++
	}
	if i == len(f) {
		delete(t.fails, k)
		return nil
	}
	f = f[i:]
	t.fails[k] = f
	return f
}
