package balancer

import (
	"context"
	"sync"
	"time"

	"github.com/orchardhq/orchard"
)

// A tier of balancers shares its manager: an action on one balancer's
// manager is applied there and sent to every peer (each applies and
// persists it on its own), the manager page shows each peer's view, and a
// balancer that starts adopts its peers' newer actions. cmd/orchard wires
// the peers with the signed control protocol; this package reads no
// cluster file.

// Peer is another balancer of the tier.
type Peer struct {
	Name string
	// Set applies a to member in pool on the peer only (the peer does not
	// pass it on).
	Set func(ctx context.Context, pool, member string, a orchard.MemberAction) error
	// Members returns the peer's view of every member.
	Members func(ctx context.Context) ([]orchard.MemberSetting, error)
}

// PeerTimeout bounds how long an action waits for one peer.
const PeerTimeout = 5 * time.Second

// peerViewTimeout bounds how long the manager page waits for a peer's
// view: the page reloads every 5 s and must not hang on a dead peer.
const peerViewTimeout = 2 * time.Second

// PeerResult is what one peer did with an action, or its view of the
// members: Err says why it could not be reached or refused.
type PeerResult struct {
	Name    string
	Members []orchard.MemberSetting // for PeerViews
	Err     error
}

// SetMemberTier applies a to pool/member here, then sends it to every
// peer at once. The local error (ENOTFOUND, EINVALID, ECONFLICT) stops it
// before any peer is asked; a peer's failure is only reported.
func (b *Balancer) SetMemberTier(ctx context.Context, pool, name string, a orchard.MemberAction) ([]PeerResult, error) {
	return b.setMemberTier(ctx, pool, name, a, "")
}

func (b *Balancer) setMemberTier(ctx context.Context, pool, name string, a orchard.MemberAction, addr string) ([]PeerResult, error) {
	if a.At.IsZero() {
		a.At = b.now() // one time for every balancer, so the newest action wins everywhere alike
	}
	if _, err := b.setMember(pool, name, a, addr); err != nil {
		return nil, err
	}
	return b.eachPeer(ctx, PeerTimeout, func(ctx context.Context, p Peer, r *PeerResult) {
		r.Err = p.Set(ctx, pool, name, a)
		if r.Err != nil {
			b.log.Warn("manager action not applied on a peer", "peer", p.Name, "pool", pool, "member", name, "action", a.Action, "err", r.Err)
		}
	}), nil
}

// PeerViews asks every peer at once for its view of the members.
func (b *Balancer) PeerViews(ctx context.Context) []PeerResult {
	return b.eachPeer(ctx, peerViewTimeout, func(ctx context.Context, p Peer, r *PeerResult) {
		r.Members, r.Err = p.Members(ctx)
	})
}

// eachPeer runs f for every peer at once, each within timeout, and
// returns their results in the order of Options.Peers.
func (b *Balancer) eachPeer(ctx context.Context, timeout time.Duration, f func(context.Context, Peer, *PeerResult)) []PeerResult {
	out := make([]PeerResult, len(b.opts.Peers))
	var wg sync.WaitGroup
	for i, p := range b.opts.Peers {
		out[i].Name = p.Name
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			f(ctx, p, &out[i])
		})
	}
	wg.Wait()
	return out
}

// syncFromPeers adopts, for every member, the newest action any reachable
// peer has applied when it is newer than this balancer's own: a balancer
// that was down while operators acted gets the tier's current state when
// it comes back. Unreachable peers are logged and skipped.
func (b *Balancer) syncFromPeers(ctx context.Context) {
	newest := map[string]orchard.MemberSetting{}
	for _, r := range b.PeerViews(ctx) {
		if r.Err != nil {
			b.log.Warn("peer not reached for the manager state", "peer", r.Name, "err", r.Err)
			continue
		}
		for _, s := range r.Members {
			k := s.Pool + "/" + s.Member
			if s.Changed.After(newest[k].Changed) {
				newest[k] = s
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, s := range newest {
		m := b.members[k]
		if m == nil || !s.Changed.After(b.state.Members[k].Changed) {
			continue
		}
		st := memberState{Weight: s.Set, Changed: s.Changed}
		switch s.Admin {
		case orchard.MemberDisabled, orchard.MemberDraining:
			st.State = s.Admin
		}
		if st.Weight < 0 || st.Weight > orchard.MaxMemberWeight {
			continue
		}
		if err := b.putStateLocked(m, st); err != nil {
			b.log.Error("adopt a peer's manager state", "err", err)
		}
		b.log.Info("adopted a peer's newer manager action", "pool", m.pool, "member", m.cfg.Name, "admin", s.Admin, "weight", s.Set, "changed", s.Changed)
	}
}
