package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/internal/testnet"
)

// TestPublishVisibleAtEdge publishes with the CLI as a user does and reads
// through the balancer the moment the command returns: no response may
// carry the release it replaced, neither after a publish of an edited page
// (that the edge cache holds) nor after a rollback (a page the older release
// lacks, also cached, must be gone).
func TestPublishVisibleAtEdge(t *testing.T) {
	d, cfg := startSQLiteDemo(t)
	const host = sample.AlphaHost
	const page, newPage = "/news/edge-check/", "/news/edge-only-new/"
	edge := "http://" + cfg.Balancer.Listen
	d.run(t, "", "category", "-s", host, "put", "/news/", "--title", "News")
	put := func(path, body string) {
		d.run(t, body+"\n", "page", "-s", host, "put", path, "--title", "Edge check", "--category", "/news/")
	}
	// readAll GETs path through the balancer n times and returns the
	// statuses and releases seen.
	readAll := func(path string, n int) (statuses map[int]int, releases map[string]int, bodies []string) {
		statuses, releases = map[int]int{}, map[string]int{}
		for range n {
			req, _ := http.NewRequest("GET", edge+path, nil)
			req.Host = host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			statuses[resp.StatusCode]++
			releases[resp.Header.Get(orchard.ReleaseHeader)]++
			bodies = append(bodies, string(b))
		}
		return statuses, releases, bodies
	}

	put(page, "edge-version-1")
	d.run(t, "", "publish", "-s", host, "--build", "-q")
	r1 := activeOn(t, cfg.Nodes[0].Control, host)
	// Warm the edge cache with release 1's page.
	testnet.WaitFor(t, "the edge serves release 1", func() bool {
		_, rels, _ := readAll(page, 1)
		return rels[r1] == 1
	})
	readAll(page, 5)

	put(page, "edge-version-2")
	put(newPage, "only in release 2")
	out := d.run(t, "", "publish", "-s", host, "--build")
	_, rels, bodies := readAll(page, 20)
	r2 := activeOn(t, cfg.Nodes[0].Control, host)
	if r2 == r1 {
		t.Fatal("publish did not make a new release")
	}
	if rels[r2] != 20 || !strings.Contains(bodies[0], "edge-version-2") {
		t.Fatalf("right after publish returned, the edge answered releases %v (want all %s); publish said:\n%s", rels, r2, out)
	}
	if !strings.Contains(out, "balancer: serving release "+r2) {
		t.Errorf("publish does not report that the balancer serves %s:\n%s", r2, out)
	}
	if st, _, _ := readAll(newPage, 5); st[200] != 5 {
		t.Fatalf("new page through the edge: %v", st)
	}

	out = d.run(t, "y\n", "rollback", "-s", host)
	st, rels, _ := readAll(newPage, 10)
	if st[404] != 10 || rels[r2] != 0 {
		t.Fatalf("right after rollback returned, %s through the edge: statuses %v, releases %v (want 404 from %s); rollback said:\n%s",
			newPage, st, rels, r1, out)
	}
	if _, rels, bodies := readAll(page, 10); rels[r1] != 10 || !strings.Contains(bodies[0], "edge-version-1") {
		t.Fatalf("after rollback the edge answered releases %v, want all %s", rels, r1)
	}
}
