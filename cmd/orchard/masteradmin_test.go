package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/auth"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/node"
	"github.com/orchardhq/orchard/release"
	"github.com/orchardhq/orchard/render"
	"github.com/orchardhq/orchard/sqlite"
)

const (
	adminTestUser = "root"
	adminTestPass = "browser-test-password"
)

// adminCluster is a master with its admin UI and one web node, all in this
// process on loopback ports.
type adminCluster struct {
	m    *masterServer
	node *node.Node
}

// startAdminCluster starts node0 (node.New, with the signed publish API on
// its control listener), writes a cluster file naming it, seeds the
// database with the sample site alpha and a cluster admin, and opens the
// master with the admin listener.
func startAdminCluster(t *testing.T) *adminCluster {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	nodeDir := filepath.Join(dir, "node0")
	nstore, err := release.OpenStore(nodeDir)
	if err != nil {
		t.Fatal(err)
	}
	var sync atomic.Pointer[nodeSync]
	nd := node.New(node.Config{Name: "node0", Dir: nodeDir, Store: nstore, Listen: "127.0.0.1:0", Control: "127.0.0.1:0",
		ControlHandler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if ns := sync.Load(); ns != nil {
				ns.Handler().ServeHTTP(w, r)
				return
			}
			http.Error(w, "starting", http.StatusServiceUnavailable)
		}), Logger: quiet})
	if err := nd.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nd.Close() })

	cfgFile := filepath.Join(dir, "orchard.toml")
	err = os.WriteFile(cfgFile, []byte(fmt.Sprintf(`secret_file = "secret.key"
[database]
driver = "sqlite"
path = "data/orchard.db"
[master]
listen = "127.0.0.1:0"
admin = "127.0.0.1:0"
control = "127.0.0.1:0"
data = "data/master"
[[node]]
name = "node0"
listen = %q
control = %q
data = "node0"
`, nd.Addr(), nd.ControlAddr())), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	ncfg, err := cfg.Node("node0")
	if err != nil {
		t.Fatal(err)
	}
	sync.Store(newNodeSync(cfg, ncfg, nstore, nd, quiet))

	if err := os.MkdirAll(filepath.Dir(cfg.Database.Path), 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, cfg.Database.Path)
	if err != nil {
		t.Fatal(err)
	}
	c := sample.Sites()[0]
	c.Templates, c.Assets = render.DefaultTemplates(), render.DefaultTheme()
	if err := db.ReplaceSite(ctx, c, false); err != nil {
		t.Fatal(err)
	}
	p := auth.DefaultParams()
	p.Memory, p.Time = 1024, 1
	hash, err := auth.HashPasswordParams(adminTestPass, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutUser(ctx, &orchard.User{Name: adminTestUser, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	m, err := openMaster(ctx, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return &adminCluster{m: m, node: nd}
}

// fetch GETs url with a Host header and returns the status and body.
func fetch(t *testing.T, url, host string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if host != "" {
		req.Host = host
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMasterAdminListener checks that orchard master serves the admin UI on
// master.admin only: not on the site listener, not on the control listener,
// and not on the nodes.
func TestMasterAdminListener(t *testing.T) {
	c := startAdminCluster(t)
	admin := c.m.AdminAddr()
	if admin == "" {
		t.Fatal("no admin listener")
	}
	code, body := fetch(t, "http://"+admin+"/login", "")
	if code != 200 || !strings.Contains(body, "orchard admin") {
		t.Fatalf("admin /login: %d %.300s", code, body)
	}
	for _, tt := range []struct{ name, addr, host string }{
		{"SiteListener", c.m.SiteAddr(), sample.AlphaHost},
		{"SiteListenerNoSite", c.m.SiteAddr(), ""},
		{"ControlListener", c.m.control.Addr(), ""},
		{"NodeTraffic", c.node.Addr(), sample.AlphaHost},
		{"NodeControl", c.node.ControlAddr(), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range []string{"/login", "/static/admin.css", "/sites/" + sample.AlphaHost + "/", "/nodes"} {
				code, body := fetch(t, "http://"+tt.addr+p, tt.host)
				if code == 200 || strings.Contains(body, "orchard admin") || strings.Contains(body, "--accent") {
					t.Errorf("%s%s served the admin UI: %d %.200s", tt.addr, p, code, body)
				}
			}
		})
	}
	if err := c.m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + admin + "/login"); err == nil {
		t.Error("admin listener still open after Close")
	}
}

// TestAdminBrowser drives the admin UI in headless Chromium: log in, create
// a page, preview it, build and publish to a real node, and fetch the page
// from the node. It also checks that pages fit a phone's screen. On failure
// it saves a screenshot and prints its path.
func TestAdminBrowser(t *testing.T) {
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is required in CI: %v", err)
		}
		t.Skip("no " + chromium)
	}
	c := startAdminCluster(t)
	base := "http://" + c.m.AdminAddr()
	host := sample.AlphaHost

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1200, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil { // starts the browser; no timeout on this one
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(browser, 2*time.Minute)
	defer cancel()

	shots := 0
	fail := func(format string, args ...any) {
		t.Helper()
		dir := os.Getenv("ORCHARD_TEST_OUT")
		if dir == "" {
			dir, _ = os.MkdirTemp("", "orchard-admin-browser-")
		}
		sctx, scancel := context.WithTimeout(browser, 10*time.Second)
		defer scancel()
		png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
		shots++
		file := filepath.Join(dir, fmt.Sprintf("failure-%d.png", shots))
		if err == nil {
			err = os.WriteFile(file, png, 0o644)
		}
		if err != nil {
			t.Logf("no screenshot: %v", err)
		} else {
			t.Logf("screenshot saved: %s", file)
		}
		t.Fatalf(format, args...)
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			fail("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			fail("text of %s: %v", sel, err)
		}
		return s
	}

	do("log in",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), adminTestUser),
		chromedp.SendKeys(chromedp.CSS("#password"), adminTestPass),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/sites/new"]`)),
	)
	do("create a page",
		chromedp.Navigate(base+"/sites/"+host+"/pages/edit"),
		chromedp.WaitVisible(chromedp.CSS("#title")),
		chromedp.SendKeys(chromedp.CSS("#title"), "Made in a browser"),
		chromedp.SetValue(chromedp.CSS("#path"), "/browser-page/"),
		chromedp.SendKeys(chromedp.CSS("#body"), "Typed in **Chromium** today."),
		chromedp.Click(chromedp.CSS("#published")),
		chromedp.Click(chromedp.CSS("#save")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if got := text(".flash"); got != "Saved." {
		fail("after save: flash %q", got)
	}
	do("preview", chromedp.Navigate(base+"/sites/"+host+"/preview?path=%2Fbrowser-page%2F"), chromedp.WaitReady(chromedp.CSS("body")))
	if got, err := chromedp.Run(ctx, chromedp.InnerHTML(chromedp.CSS("body"))); err != nil || !strings.Contains(got, "<strong>Chromium</strong>") {
		fail("preview body %q: %v", got, err)
	}

	do("build & publish",
		chromedp.Navigate(base+"/sites/"+host+"/"),
		chromedp.WaitVisible(chromedp.CSS("#build-publish")),
		chromedp.Click(chromedp.CSS("#build-publish")),
		chromedp.WaitVisible(chromedp.CSS("#job-state")),
	)
	// The job page refreshes itself every second until the job is done.
	deadline := time.Now().Add(time.Minute)
	state := ""
	for !strings.HasPrefix(state, "Done") && !strings.HasPrefix(state, "Failed") {
		if time.Now().After(deadline) {
			fail("job still %q after a minute", state)
		}
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#job-state")))
		if err == nil {
			state = s
		}
		if !strings.HasPrefix(state, "Done") {
			_ = chromedp.Do(ctx, chromedp.Sleep(100*time.Millisecond)) // the page reloads meanwhile
		}
	}
	if !strings.HasPrefix(state, "Done") {
		fail("job: %q", state)
	}
	if nodes := text("#job-nodes"); !strings.Contains(nodes, "node0") || !strings.Contains(nodes, "activated") {
		fail("job nodes: %q", nodes)
	}
	code, body := fetch(t, "http://"+c.node.Addr()+"/browser-page/", host)
	if code != 200 || !strings.Contains(body, "Typed in <strong>Chromium</strong> today.") {
		fail("node0 /browser-page/: %d %.500s", code, body)
	}

	// On a phone-sized screen nothing overflows sideways.
	for _, p := range []string{"/sites/" + host + "/", "/sites/" + host + "/pages", "/sites/" + host + "/pages/edit?path=%2Fbrowser-page%2F", "/sites/" + host + "/releases"} {
		do("phone "+p, chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+p), chromedp.WaitReady(chromedp.CSS("main")))
		fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("document.documentElement.scrollWidth <= window.innerWidth + 1"))
		if err != nil || !fits {
			fail("%s does not fit a 390 px screen (%v)", p, err)
		}
	}
}
