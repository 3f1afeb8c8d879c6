package balancer_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/publish"
)

// signedPeer is a peer reached over the signed control protocol at the
// address *addr holds when it is used (peers start after one another).
func signedPeer(name string, addr *atomic.Pointer[string]) balancer.Peer {
	hc := publish.NewHTTPClient(2)
	target := func() publish.Target { return publish.Target{Name: name, ControlAddr: *addr.Load()} }
	return balancer.Peer{
		Name: name,
		Set: func(ctx context.Context, pool, member string, a orchard.MemberAction) error {
			_, err := publish.SetBalancerMember(ctx, hc, []byte(tierSecret), target(), pool, member, a)
			return err
		},
		Members: func(ctx context.Context) ([]orchard.MemberSetting, error) {
			return publish.BalancerMembers(ctx, hc, []byte(tierSecret), target())
		},
	}
}

// TestManagerTier runs two balancers that are each other's peer: a drain
// on lb1's manager applies and persists on lb2 too, lb1's page shows lb2's
// view, says when lb2 cannot be reached, and lb2 started again after
// missing an action adopts it from lb1.
func TestManagerTier(t *testing.T) {
	n1, n2 := newBackend(t, "n1", rel1), newBackend(t, "n2", rel1)
	var addr1, addr2 atomic.Pointer[string]
	o1 := signedOpts(t, n1.member(1), n2.member(1))
	o1.Peers = []balancer.Peer{signedPeer("lb2", &addr2)}
	o2 := signedOpts(t, n1.member(1), n2.member(1))
	o2.Peers = []balancer.Peer{signedPeer("lb1", &addr1)}
	o2.Control = freeLoopback(t) // lb2 comes back on the same address
	addr2.Store(&o2.Control)
	lb1 := mustOpen(t, o1)
	addr1.Store(ptr(lb1.ControlAddr()))
	lb2 := mustOpen(t, o2)

	page := func() string {
		t.Helper()
		code, page := managerGet(t, lb1, "/orchard-manager/")
		if code != http.StatusOK {
			t.Fatalf("manager page: %d", code)
		}
		return page
	}
	act := func(action, member string) int {
		t.Helper()
		m := csrfRE.FindStringSubmatch(page())
		if m == nil {
			t.Fatal("no CSRF token in the page")
		}
		return managerPost(t, lb1, url.Values{"csrf": {m[1]}, "pool": {"web"}, "member": {member}, "action": {action}}, nil)
	}

	if code := act("drain", "n1"); code != http.StatusSeeOther {
		t.Fatalf("drain n1 on lb1: %d, want 303", code)
	}
	for name, b := range map[string]*balancer.Balancer{"lb1": lb1, "lb2": lb2} {
		if got := memberStatus(b, "n1").State; got != orchard.MemberDraining {
			t.Errorf("n1 on %s is %q after a drain on lb1's manager, want draining", name, got)
		}
	}
	if data, err := os.ReadFile(filepath.Join(o2.DataDir, balancer.StateFile)); err != nil || !strings.Contains(string(data), `"draining"`) {
		t.Errorf("lb2 did not persist the drain: %v\n%s", err, data)
	}
	if p := page(); !strings.Contains(p, "<h3>lb2</h3>") || !strings.Contains(p, `<td>n1</td><td class="draining">draining</td>`) {
		t.Errorf("lb1's page does not show lb2's view of n1 as draining:\n%s", p)
	}

	// lb2 down: the action applies on lb1, which says lb2 missed it.
	lb2.Close()
	if code := act("disable", "n2"); code != http.StatusOK {
		t.Errorf("disable n2 with lb2 down: %d, want 200 (a page naming lb2)", code)
	}
	if got := memberStatus(lb1, "n2").State; got != orchard.MemberDisabled {
		t.Errorf("n2 on lb1 is %q, want disabled", got)
	}
	if p := page(); !strings.Contains(p, "lb2 could not be reached") {
		t.Errorf("lb1's page does not say lb2 could not be reached:\n%s", p)
	}

	// lb2 comes back and adopts the disable it missed.
	lb2 = mustOpen(t, o2)
	if got := memberStatus(lb2, "n2").State; got != orchard.MemberDisabled {
		t.Errorf("n2 on lb2 after its restart is %q, want disabled (adopted from lb1)", got)
	}
	if got := memberStatus(lb2, "n1").State; got != orchard.MemberDraining {
		t.Errorf("n1 on lb2 after its restart is %q, want draining (its own state)", got)
	}
}

// freeLoopback returns a loopback address nothing listens on right now.
func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
