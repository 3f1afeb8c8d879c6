package publish_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/publish"
)

// TestBalancerCerts sends a certificate set and a challenge to a real
// balancer's control listener with the master's signed client: the
// balancer reports the set's digest and holds the challenge; a client with
// another secret is refused.
func TestBalancerCerts(t *testing.T) {
	secret := []byte("publish-certs-secret-0123456789abcdef")
	b := balancer.New(balancer.Options{
		Control:     "127.0.0.1:0",
		ControlAuth: func(h http.Handler) http.Handler { return publish.RequireSignature(secret, publish.BalancerTarget, h) },
		Pools:       []balancer.Pool{{Name: "web", Members: []orchard.Member{{Name: "n0", Addr: "127.0.0.1:1"}}}},
		VHosts:      []balancer.VHost{{Hosts: []string{"*"}, Pool: "web"}},
	})
	if err := b.Listen(context.Background()); err != nil {
		b.Close()
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	tg := publish.Target{Name: "lb", ControlAddr: b.ControlAddr()}

	d, err := publish.BalancerCertDigest(ctx, nil, secret, tg)
	if err != nil || d.Digest != "" {
		t.Fatalf("digest before any push = %+v, %v; want empty", d, err)
	}
	set := &orchard.CertSet{Policies: map[string]orchard.HostPolicy{"a.test": {Redirect: true}}}
	if err := publish.PutBalancerCerts(ctx, nil, secret, tg, set); err != nil {
		t.Fatal(err)
	}
	if d, err := publish.BalancerCertDigest(ctx, nil, secret, tg); err != nil || d.Digest != set.Digest() {
		t.Errorf("digest after push = %+v, %v; want %s", d, err, set.Digest())
	}
	if err := publish.PutBalancerChallenge(ctx, nil, secret, tg, "tok", "tok.print"); err != nil {
		t.Fatal(err)
	}
	if err := publish.DeleteBalancerChallenge(ctx, nil, secret, tg, "tok"); err != nil {
		t.Fatal(err)
	}
	err = publish.PutBalancerCerts(ctx, nil, []byte("another-secret-0123456789abcdef0123"), tg, set)
	if !errors.Is(err, publish.ErrUnauthorized) {
		t.Errorf("push with another secret: %v, want ErrUnauthorized", err)
	}
}
