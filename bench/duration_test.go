package bench_test

import (
	"testing"
	"time"

	"github.com/orchardhq/orchard/bench"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		bare time.Duration
		want time.Duration
		err  bool
	}{
		{"30S", time.Minute, 30 * time.Second, false},
		{"30s", time.Minute, 30 * time.Second, false},
		{"1M", time.Minute, time.Minute, false},
		{"2m", time.Minute, 2 * time.Minute, false},
		{"1H", time.Minute, time.Hour, false},
		{"10", time.Minute, 10 * time.Minute, false}, // siege -t: bare minutes
		{"1", time.Second, time.Second, false},       // siege -d: bare seconds
		{"0.5", time.Second, 500 * time.Millisecond, false},
		{"1.5M", time.Minute, 90 * time.Second, false},
		{"0", time.Second, 0, false},
		{" 5S ", time.Minute, 5 * time.Second, false},
		{"1m30s", time.Minute, 90 * time.Second, false},
		{"250ms", time.Second, 250 * time.Millisecond, false},
		{"2h45m", time.Minute, 165 * time.Minute, false},
		{"", time.Minute, 0, true},
		{"S", time.Minute, 0, true},
		{"-5S", time.Minute, 0, true},
		{"-1m", time.Minute, 0, true},
		{"1.2.3", time.Second, 0, true},
		{".5", time.Second, 0, true},
		{"5X", time.Minute, 0, true},
		{"99999999999H", time.Minute, 0, true},
		{"1000000h", time.Minute, 0, true},
	}
	for _, tt := range tests {
		got, err := bench.ParseDuration(tt.in, tt.bare)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// FuzzParseDuration: no panic, never a negative or absurd duration.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30S", "1M", "1H", "10", "0.5", "1m30s", "-1s", "9999999999999999999H"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := bench.ParseDuration(s, time.Minute)
		if err == nil && (d < 0 || d > 100000*time.Hour) {
			t.Fatalf("ParseDuration(%q) = %v", s, d)
		}
	})
}
