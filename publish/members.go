package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/orchardhq/orchard"
)

// Manager actions reach every balancer of a tier over the signed control
// protocol (orchard.MembersPath): the CLI's drain/undrain and each
// balancer's manager send them to all balancers at once.

// MemberTimeout bounds how long an action waits for one balancer.
const MemberTimeout = 5 * time.Second

// TierResult is what one balancer did with a member action.
type TierResult struct {
	Name string
	Addr string
	// Applied lists the pools whose member took the action.
	Applied []string
	// Err is why the balancer could not be reached or refused; nil when
	// every pool applied the action.
	Err error
}

// SetBalancerMember sends a to the balancer t for member in pool and
// returns the balancer's view of the member after it. A refusal wraps
// ErrNotFound (no such pool or member) or ErrInvalid, or names
// the status (409: a newer action is already applied).
func SetBalancerMember(ctx context.Context, hc *http.Client, secret []byte, t Target, pool, member string, a orchard.MemberAction) (orchard.MemberSetting, error) {
	var set orchard.MemberSetting
	body, err := json.Marshal(a)
	if err != nil {
		return set, err
	}
	c := newClient(t.ControlAddr, BalancerTarget, secret, defaultClient(hc))
	path := orchard.MembersPath + "/" + url.PathEscape(pool) + "/" + url.PathEscape(member)
	resp, _, err := c.doType(ctx, "POST", path, body, "", "application/json")
	if err != nil {
		return set, err
	}
	defer resp.Body.Close()
	// The answer is not signed (as the refresh's): it only decides what
	// is reported.
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&set); err != nil {
		return set, fmt.Errorf("%w: decode answer: %v", ErrInvalid, err)
	}
	return set, nil
}

// BalancerMembers returns the balancer t's view of every member.
func BalancerMembers(ctx context.Context, hc *http.Client, secret []byte, t Target) ([]orchard.MemberSetting, error) {
	c := newClient(t.ControlAddr, BalancerTarget, secret, defaultClient(hc))
	resp, _, err := c.do(ctx, "GET", orchard.MembersPath, nil, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []orchard.MemberSetting
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("%w: decode answer: %v", ErrInvalid, err)
	}
	return out, nil
}

// SetTierMember sends a to every balancer at once, for member in each of
// pools, and returns one result per balancer in the order given. Each
// balancer applies the action on its own; one that cannot be reached is
// reported, not retried (it adopts the newest actions from its peers when
// it starts).
func SetTierMember(ctx context.Context, hc *http.Client, secret []byte, balancers []Target, pools []string, member string, a orchard.MemberAction) []TierResult {
	ctx, cancel := context.WithTimeout(ctx, MemberTimeout)
	defer cancel()
	hc = defaultClient(hc)
	out := make([]TierResult, len(balancers))
	var wg sync.WaitGroup
	for i, t := range balancers {
		out[i] = TierResult{Name: t.Name, Addr: t.ControlAddr}
		wg.Go(func() {
			r := &out[i]
			for _, p := range pools {
				if _, err := SetBalancerMember(ctx, hc, secret, t, p, member, a); err != nil {
					r.Err = fmt.Errorf("pool %s: %w", p, err)
					return
				}
				r.Applied = append(r.Applied, p)
			}
		})
	}
	wg.Wait()
	return out
}

func defaultClient(hc *http.Client) *http.Client {
	if hc == nil {
		return NewHTTPClient(2)
	}
	return hc
}
