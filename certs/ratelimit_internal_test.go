package certs

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mholt/acmez/v3/acme"

	"github.com/orchardhq/orchard"
)

type oneSite string

func (s oneSite) Sites(context.Context) ([]*orchard.Site, error) {
	return []*orchard.Site{{Host: string(s)}}, nil
}

// TestRateLimitPausesOrders checks that a rateLimited answer from the CA
// stops every order (not only the name's) for RetryMin, doubling with each
// such answer, that other errors do not, and that orders resume after the
// pause: the manager does not spend the CA's limit faster than it allows.
func TestRateLimitPausesOrders(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := New(Options{
		Sites:     oneSite("a.test"),
		Dir:       t.TempDir(),
		Directory: "https://127.0.0.1:1/dir", // nothing answers: an order fails at once
		Clock:     func() time.Time { return now },
		RetryMin:  time.Minute,
		Balancers: []Balancer{{
			Name:     "lb",
			Digest:   func(context.Context) (orchard.CertDigest, error) { return orchard.CertDigest{}, nil },
			PutCerts: func(context.Context, *orchard.CertSet) error { return nil },
		}},
	})
	limited := fmt.Errorf("creating new order: %w", acme.Problem{Type: acme.ProblemTypeRateLimited, Detail: "too many new orders"})
	m.noteRateLimit(limited, now)
	if want := now.Add(time.Minute); !m.pausedUntil.Equal(want) {
		t.Fatalf("paused until %v, want %v", m.pausedUntil, want)
	}
	m.noteRateLimit(limited, now)
	if want := now.Add(2 * time.Minute); !m.pausedUntil.Equal(want) {
		t.Errorf("second pause until %v, want %v (doubled)", m.pausedUntil, want)
	}
	m.noteRateLimit(errors.New("connection refused"), now)
	if want := now.Add(2 * time.Minute); !m.pausedUntil.Equal(want) {
		t.Errorf("another error moved the pause to %v", m.pausedUntil)
	}

	ctx := context.Background()
	if err := m.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if st := m.Status(); len(st) != 1 || st[0].Failures != 0 || m.RenewalErrors() != 0 {
		t.Fatalf("ordered while paused: %+v", st)
	}
	now = now.Add(3 * time.Minute)
	if err := m.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if st := m.Status(); len(st) != 1 || st[0].Failures != 1 || m.RenewalErrors() != 1 {
		t.Errorf("no order after the pause: %+v", st)
	}
}
