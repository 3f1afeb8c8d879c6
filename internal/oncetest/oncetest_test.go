package oncetest

import (
	"sync"
	"testing"
)

func TestShared(t *testing.T) {
	once := sync.OnceValue(func() *int { return new(int) })
	Shared(t, func() []any { return []any{once()} })
}

func TestSameRefusesTwoBuilds(t *testing.T) {
	a, b := new(int), new(int)
	tests := []struct {
		name string
		got  [][]any
		ok   bool
	}{
		{"one value", [][]any{{a}, {a}}, true},
		{"built twice", [][]any{{a}, {b}}, false},
		{"second value built twice", [][]any{{a, a}, {a, b}}, false},
		{"fewer values", [][]any{{a, a}, {a}}, false},
	}
	for _, tt := range tests {
		if err := same(tt.got); (err == nil) != tt.ok {
			t.Errorf("%s: same = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
