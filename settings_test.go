package orchard_test

import (
	"testing"
	"time"

	"github.com/orchardhq/orchard"
)

func TestOrDefault(t *testing.T) {
	tests := []struct {
		v, want time.Duration
	}{
		{0, time.Minute},
		{-time.Second, time.Minute},
		{time.Nanosecond, time.Nanosecond},
		{time.Hour, time.Hour},
	}
	for _, tt := range tests {
		if got := orchard.OrDefault(tt.v, time.Minute); got != tt.want {
			t.Errorf("OrDefault(%v, 1m) = %v, want %v", tt.v, got, tt.want)
		}
	}
	if got := orchard.OrDefault(0.0, 0.5); got != 0.5 {
		t.Errorf("OrDefault(0.0, 0.5) = %v", got)
	}
	if got := orchard.OrDefault(3, 8); got != 3 {
		t.Errorf("OrDefault(3, 8) = %v", got)
	}
}
