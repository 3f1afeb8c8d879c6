package master_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/releasetest"
	"github.com/orchardhq/orchard/master"
	"github.com/orchardhq/orchard/node"
	"github.com/orchardhq/orchard/publish"
	"github.com/orchardhq/orchard/release"
)

// curveSecret signs the benchmark cluster's control requests.
var curveSecret = []byte("publish curve secret")

// curvePosts is how many posts a benchmark site has: 22 files, 20 with a
// gzip variant, 43 blobs (issue 23's sites of 20 pages).
const curvePosts = 20

// curveRelease puts the blobs of release version of host into st without
// fsync and returns its manifest: a front page naming the version, a 404
// page and curvePosts posts, each its own bytes (no two sites share a
// blob), as a small generated site has.
func curveRelease(tb testing.TB, st *release.Store, host string, version int) *orchard.Manifest {
	tb.Helper()
	r := releasetest.New(tb, st, host, version)
	html := "text/html; charset=utf-8"
	r.Put("/index.html", html, []byte(fmt.Sprintf("<h1>%s</h1><p>version %d</p>%s", host, version, strings.Repeat(" orchard", 40))))
	r.Put("/404.html", html, []byte("<p>not found on "+host+"</p>"))
	for i := range curvePosts {
		r.Put(fmt.Sprintf("/post/%d/index.html", i), html, []byte(fmt.Sprintf("<p>%s post %d</p>%s", host, i, strings.Repeat(" orchard", 120))))
	}
	return r.M
}

// mustFillCurveStore writes release 0 of each of hosts into the release
// store under dir, active, as a master or a node that published them
// holds it: blobs synced once, manifests and pointers written without
// fsync (a fixture, not a publish).
func mustFillCurveStore(tb testing.TB, dir string, hosts []string) {
	tb.Helper()
	st, err := release.OpenStore(dir)
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	for _, h := range hosts {
		releasetest.WriteActive(tb, dir, curveRelease(tb, st, h, 0))
	}
	if err := st.Blobs().Sync(); err != nil {
		tb.Fatal(err)
	}
}

// curveCluster is a master's release store and Service publishing to
// three nodes, each a node.Node with the publish protocol's receiver on
// its control listener, all in this process, holding sites sites.
type curveCluster struct {
	dir   string // the master's release store
	hosts []string
	svc   *master.Service
}

func openCurveCluster(tb testing.TB, sites int) *curveCluster {
	tb.Helper()
	start := time.Now()
	c := &curveCluster{dir: tb.TempDir()}
	for i := range sites {
		c.hosts = append(c.hosts, fmt.Sprintf("s%05d.curve.test", i))
	}
	mustFillCurveStore(tb, c.dir, c.hosts)
	var targets []publish.Target
	for i := range 3 {
		name := fmt.Sprintf("node%d", i)
		dir := tb.TempDir()
		if err := os.CopyFS(dir, os.DirFS(c.dir)); err != nil {
			tb.Fatal(err)
		}
		st, err := release.OpenStore(dir)
		if err != nil {
			tb.Fatal(err)
		}
		nd := node.New(node.Config{Name: name, Dir: dir, Store: st, Control: "127.0.0.1:0"})
		pn := publish.NewNode(publish.NodeConfig{Name: name, Secret: curveSecret, Blobs: st.Blobs(), State: nd})
		nd.SetControlHandler(pn.Handler())
		if err := nd.Open(tb.Context()); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { nd.Close(); st.Close() })
		for _, h := range c.hosts { // loaded now, not by the warm-up while the benchmark runs
			if _, _, ok := nd.ActiveCreated(h); !ok {
				tb.Fatalf("%s has no active release of %s", name, h)
			}
		}
		targets = append(targets, publish.Target{Name: name, ControlAddr: nd.ControlAddr()})
	}
	// The prune + GC rule runs at most every 10 minutes (reading every
	// manifest of every site): collected just now, as in a steady state.
	if err := os.WriteFile(filepath.Join(c.dir, "gc-stamp"), []byte(time.Now().UTC().Format(time.RFC3339Nano)+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	rs := mustOpenReleases(tb, c.dir)
	c.svc = &master.Service{
		Releases: rs, Keep: keep,
		Publisher: &publish.Publisher{Nodes: targets, Secret: curveSecret, Blobs: rs.Blobs(), Catalog: master.Catalog{Store: rs}},
	}
	tb.Logf("%d sites on a master and 3 nodes set up in %v", sites, time.Since(start).Round(time.Millisecond))
	return c
}

// edit makes release version of host on the master, as a build of one
// edited page does (its blobs appended and synced, its manifest saved),
// and returns its id.
func (c *curveCluster) edit(tb testing.TB, host string, version int) string {
	tb.Helper()
	rs := c.svc.Releases
	m := curveRelease(tb, rs, host, version)
	if err := rs.Blobs().Sync(); err != nil {
		tb.Fatal(err)
	}
	id, err := rs.SaveManifest(m)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// BenchmarkPublishOneEdit publishes from a master to three nodes that
// hold sites sites, through master.Service.Publish as the admin UI and
// `orchard publish -s` do (stage, upload, Sync and activation on every
// node, the master's catalog and statistics): "edit", a new release of
// one site (its front page changed: two new blobs); "new", the first
// release of a site the nodes did not hold (43 blobs), as publish --all
// does for every site of a new cluster. Neither must cost more as the
// cluster holds more sites (issue 23).
func BenchmarkPublishOneEdit(b *testing.B) {
	for _, sites := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("sites=%d", sites), func(b *testing.B) {
			c := openCurveCluster(b, sites)
			version := 0
			b.Run("edit", func(b *testing.B) {
				cpu0 := cpuTime(b)
				for b.Loop() {
					version++
					host := c.hosts[version%len(c.hosts)]
					c.publish(b, host, c.edit(b, host, version))
				}
				b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
			})
			b.Run("new", func(b *testing.B) {
				cpu0 := cpuTime(b)
				for b.Loop() {
					version++
					host := fmt.Sprintf("new%06d.curve.test", version)
					c.publish(b, host, c.edit(b, host, version))
				}
				b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
			})
		})
	}
}

// publish publishes release id of host to every node.
func (c *curveCluster) publish(tb testing.TB, host, id string) {
	tb.Helper()
	res, err := c.svc.Publish(tb.Context(), host, id, master.Progress{})
	if err != nil || !res.OK() {
		tb.Fatalf("publish %s: %v %+v", host, err, res)
	}
}
