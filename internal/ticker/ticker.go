// Package ticker runs a background job at a fixed interval until its
// context ends: the select on ctx.Done() and a ticker that the mysql
// replica checks, the balancer's access log flush and bench's progress
// report each wrote out.
package ticker

import (
	"context"
	"time"
)

// Run calls fn every d, the first time after d has passed, until ctx is
// done, and then returns.
func Run(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}
