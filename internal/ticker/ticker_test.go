package ticker_test

import (
	"context"
	"testing"
	"time"

	"github.com/orchardhq/orchard/internal/ticker"
)

// TestRunUntilDone checks that Run calls fn again and again and returns
// once ctx is done.
func TestRunUntilDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0 // fn runs on Run's goroutine only
	done := make(chan struct{})
	go func() {
		defer close(done)
		ticker.Run(ctx, time.Millisecond, func() {
			if calls++; calls == 3 {
				cancel()
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	if calls < 3 {
		t.Errorf("fn ran %d times, want at least 3 (cancelled on the third)", calls)
	}
}

// TestRunCancelled checks that Run with a done context returns without
// calling fn.
func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ticker.Run(ctx, time.Hour, func() { t.Error("fn ran after ctx was done") })
}
