package monitor_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/internal/testnet"
	"github.com/orchardhq/orchard/monitor"
	"github.com/orchardhq/orchard/node"
	"github.com/orchardhq/orchard/release"
)

type page string

func (p page) Outputs() []release.Output {
	return []release.Output{{Path: "/", ContentType: "text/html; charset=utf-8", Deps: []string{"p"}}}
}
func (p page) Render(string) ([]byte, error) { return []byte(p), nil }
func (p page) Inputs() map[string]string     { return map[string]string{"p": string(p)} }

// miniCluster is a real node and a real balancer in front of it, each with
// its /metrics on a control listener, as orchard node and orchard balancer
// wire them.
type miniCluster struct {
	nd *node.Node
	b  *balancer.Balancer
}

func startMiniCluster(t *testing.T) *miniCluster {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	var nh, bh http.Handler
	late := func(h *http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*h).ServeHTTP(w, r) })
	}
	nd := node.New(node.Config{Name: "node0", Dir: filepath.Join(dir, "node0"), Control: "127.0.0.1:0", Metrics: late(&nh), Logger: logger})
	nh = monitor.Handler(monitor.NewRegistry(monitor.ProcessInfo{Role: "node", Name: "node0"}, logger, []string{dir},
		nd.Collector(), monitor.NewReleaseCollector(nd.Releases)), logger)
	if err := nd.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nd.Close() })
	res, err := (&release.Builder{Store: nd.Store()}).Build(ctx, &orchard.Site{Host: "a.test"}, page(strings.Repeat("<p>orchard</p>", 600)))
	if err != nil {
		t.Fatal(err)
	}
	if err := nd.Activate("a.test", res.Manifest.ID(), res.Manifest, nil); err != nil {
		t.Fatal(err)
	}
	b := balancer.New(balancer.Options{
		Listen: "127.0.0.1:0", Control: "127.0.0.1:0", Metrics: late(&bh), Logger: logger,
		Pools:  []balancer.Pool{{Name: "web", Members: []orchard.Member{{Name: "node0", Addr: nd.Addr(), HealthAddr: nd.ControlAddr()}}}},
		VHosts: []balancer.VHost{{Hosts: []string{"*"}, Pool: "web"}},
	})
	bh = monitor.Handler(monitor.NewRegistry(monitor.ProcessInfo{Role: "balancer"}, logger, nil, b.Collector()), logger)
	if err := b.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return &miniCluster{nd: nd, b: b}
}

// load sends n requests for a.test through the balancer.
func (c *miniCluster) load(t *testing.T, n int) {
	t.Helper()
	for range n {
		req, _ := http.NewRequest("GET", "http://"+c.b.Addr()+"/", nil)
		req.Host = "a.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// TestDashboardBrowser scrapes a real node and balancer while load is
// applied, then opens the dashboard in headless Chromium: the page loads,
// the graphs have data, and a screenshot is saved (its path is logged;
// $ORCHARD_TEST_OUT chooses the directory).
func TestDashboardBrowser(t *testing.T) {
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is required in CI: %v", err)
		}
		t.Skip("no " + chromium)
	}
	c := startMiniCluster(t)
	s := MustOpenScraper(t, monitor.ScraperOptions{
		Targets: []monitor.Target{
			{Name: "balancer", Group: "balancer", URL: "http://" + c.b.ControlAddr() + "/metrics"},
			{Name: "node0", Group: "web nodes", URL: "http://" + c.nd.ControlAddr() + "/metrics"},
			{Name: "node1", Group: "web nodes", URL: "http://127.0.0.1:1/metrics"}, // down
		},
		Dir:   t.TempDir(),
		Every: 100 * time.Millisecond,
		// A scrape under -race on a busy machine can take longer than the
		// interval: the default timeout (the interval) would mark a live
		// target down and the page would show it so.
		Timeout: 5 * time.Second,
	})
	all := func(monitor.Target) bool { return true }
	testnet.WaitFor(t, "requests/s on the graphs", func() bool {
		c.load(t, 50)
		return last(s.Series(monitor.FieldRequests, monitor.Ranges[0], all)) > 0 &&
			last(s.Series(monitor.FieldRequests, monitor.Ranges[0], func(t monitor.Target) bool { return t.Name == "node0" })) > 0
	})
	c.load(t, 200)
	testnet.WaitFor(t, "CPU on the graphs", func() bool {
		return !math.IsNaN(last(s.Series(monitor.FieldCPU, monitor.Ranges[0], all)))
	})
	testnet.WaitFor(t, "the balancer and node0 up, node1 down", func() bool {
		var states []string
		for _, m := range s.Machines() {
			states = append(states, m.State)
		}
		return strings.Join(states, ",") == "up,up,down"
	})
	dash := httptest.NewServer(monitor.NewDashboard(s))
	defer dash.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1400, 1000))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil { // starts the browser; no timeout on this one
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(browser, time.Minute)
	defer cancel()

	if err := chromedp.Do(ctx, chromedp.Navigate(dash.URL+"/dashboard/"), chromedp.WaitVisible(chromedp.CSS("#machines"))); err != nil {
		t.Fatalf("load the dashboard: %v", err)
	}
	type counts struct {
		Graphs      int    `json:"graphs"`
		Lines       int    `json:"lines"`
		FirstPoints int    `json:"first"`
		Machines    int    `json:"machines"`
		States      string `json:"states"`
		Title       string `json:"title"`
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[counts](`({
		graphs: document.querySelectorAll("svg.graph").length,
		lines: document.querySelectorAll("svg.graph path.series").length,
		first: +document.querySelector("svg.graph").getAttribute("data-points"),
		machines: document.querySelectorAll("tr.machine").length,
		states: Array.from(document.querySelectorAll("tr.machine")).map(r => r.dataset.state).join(","),
		title: document.title,
	})`))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	// 8 cluster + 8 per group (2 groups) + 6 per machine (3 machines).
	if got.Graphs != 8+16+18 || got.Lines < 10 || got.FirstPoints < 1 || got.Machines != 3 ||
		got.States != "up,up,down" || !strings.Contains(got.Title, "orchard cluster") {
		t.Errorf("dashboard in Chromium: %+v", got)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	out := os.Getenv("ORCHARD_TEST_OUT")
	if out == "" {
		out = filepath.Join(os.TempDir(), "orchard-test-artifacts")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(out, "dashboard.png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("dashboard screenshot: %s", file)
	fmt.Fprintf(os.Stderr, "dashboard screenshot: %s\n", file)
}
