package bench

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxDuration bounds every parsed duration (about 11 years), far below
// time.Duration's overflow.
const maxDuration = 100000 * time.Hour

// ParseDuration parses a duration the way siege's -t and -d flags write it,
// or as a Go duration. Siege's form is a number with an optional unit letter
// S, M or H in either case ("30S", "1M", "1h", "0.5"); a number without a
// unit is counted in bare units (siege's -t: minutes, its -d: seconds). Any
// other text must be a Go duration ("1m30s", "250ms"). Negative durations are
// an error; zero is allowed and callers decide what it means.
func ParseDuration(s string, bare time.Duration) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if d, ok, err := parseSiegeDuration(s, bare); ok {
		return d, err
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: want a number with S, M or H (30S, 1M, 1H) or a Go duration (1m30s)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	if d > maxDuration {
		return 0, fmt.Errorf("duration %q is too long", s)
	}
	return d, nil
}

// parseSiegeDuration handles digits, an optional fraction and an optional unit
// letter. ok is false when s is not in that form at all.
func parseSiegeDuration(s string, bare time.Duration) (d time.Duration, ok bool, err error) {
	num, unit := s, bare
	switch s[len(s)-1] {
	case 's', 'S':
		num, unit = s[:len(s)-1], time.Second
	case 'm', 'M':
		num, unit = s[:len(s)-1], time.Minute
	case 'h', 'H':
		num, unit = s[:len(s)-1], time.Hour
	}
	if num == "" {
		return 0, false, nil
	}
	dots := 0
	for i := 0; i < len(num); i++ {
		switch c := num[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && i > 0 && i < len(num)-1:
			dots++
		default:
			return 0, false, nil
		}
	}
	if dots > 1 {
		return 0, false, nil
	}
	if len(num) > 20 {
		return 0, true, fmt.Errorf("duration %q is too long", s)
	}
	f, perr := strconv.ParseFloat(num, 64)
	if perr != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, true, fmt.Errorf("duration %q: bad number", s)
	}
	v := f * float64(unit)
	if v > float64(maxDuration) {
		return 0, true, fmt.Errorf("duration %q is too long", s)
	}
	return time.Duration(math.Round(v)), true, nil
}
