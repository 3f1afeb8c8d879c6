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

// blocked reports how long until a login for any of keys may be tried
// again, or 0 when it may be tried now.
func (t *throttle) blocked(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var wait time.Duration
	for _, k := range keys {
		f := t.recent(k, now)
		if len(f) >= t.max {
			if d := f[len(f)-t.max].Add(t.window).Sub(now); d > wait {
				wait = d
			}
		}
	}
	return wait
}

// fail records a failure for every key.
func (t *throttle) fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
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
