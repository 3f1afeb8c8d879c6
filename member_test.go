package orchard_test

import (
	"testing"

	"github.com/orchardhq/orchard"
)

func TestMemberValidate(t *testing.T) {
	ok := orchard.Member{Name: "node0", Addr: "127.0.0.1:8081", HealthAddr: "127.0.0.1:8181", Weight: 1}
	tests := []struct {
		name string
		edit func(m *orchard.Member)
		ok   bool
	}{
		{"OK", func(m *orchard.Member) {}, true},
		{"OKNoHealth", func(m *orchard.Member) { m.HealthAddr = "" }, true},
		{"ErrName", func(m *orchard.Member) { m.Name = "a/b" }, false},
		{"ErrEmptyName", func(m *orchard.Member) { m.Name = "" }, false},
		{"ErrAddr", func(m *orchard.Member) { m.Addr = "127.0.0.1" }, false},
		{"ErrPort", func(m *orchard.Member) { m.Addr = "127.0.0.1:99999" }, false},
		{"ErrHealthAddr", func(m *orchard.Member) { m.HealthAddr = ":80" }, false},
		{"ErrWeight", func(m *orchard.Member) { m.Weight = 0 }, false},
		{"ErrWeightHigh", func(m *orchard.Member) { m.Weight = 101 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok
			tt.edit(&m)
			err := m.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
			if err != nil && orchard.ErrorCode(err) != orchard.EINVALID {
				t.Errorf("code %q", orchard.ErrorCode(err))
			}
		})
	}
}
