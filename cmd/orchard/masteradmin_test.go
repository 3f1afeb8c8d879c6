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
	return startAdminClusterWith(t, "")
}

// startAdminClusterWith is startAdminCluster with more [master] keys
// (TOML lines) in the cluster file.
func startAdminClusterWith(t *testing.T, masterKeys string) *adminCluster {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	nodeDir := filepath.Join(dir, "node0")
	nstore, err := release.OpenStore(nodeDir)
	if err != nil {
		t.Fatal(err)
	}
	nd := node.New(node.Config{Name: "node0", Dir: nodeDir, Store: nstore, Listen: "127.0.0.1:0", Control: "127.0.0.1:0", Logger: quiet})
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
%s
[[node]]
name = "node0"
listen = %q
control = %q
data = "node0"
`, masterKeys, nd.Addr(), nd.ControlAddr())), 0o600)
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
	nd.SetControlHandler(newNodeSync(cfg, ncfg, nstore, nd, quiet).Handler())

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

// browserSession is headless Chromium logged in to an admin UI, with
// helpers that fail the test with a screenshot.
type browserSession struct {
	t       *testing.T
	browser context.Context // owns the browser
	ctx     context.Context // bounded, for the steps
	out     string          // where screenshots go
	shots   int
}

// newBrowser starts headless Chromium (skipping without it, failing without
// it in CI) and logs in to the admin UI at base as a user does. Screenshots
// go to $ORCHARD_TEST_OUT/NAME (scripts/test sets it), else to a temporary
// directory.
func newBrowser(t *testing.T, base, name string) *browserSession {
	t.Helper()
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is required in CI: %v", err)
		}
		t.Skip("no " + chromium)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil { // starts the browser; no timeout on this one
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(browser, 4*time.Minute)
	t.Cleanup(cancel)
	out := os.Getenv("ORCHARD_TEST_OUT")
	if out == "" {
		out = t.TempDir()
	}
	out = filepath.Join(out, name)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &browserSession{t: t, browser: browser, ctx: ctx, out: out}
	b.do("log in",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), adminTestUser),
		chromedp.SendKeys(chromedp.CSS("#password"), adminTestPass),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/sites/new"]`)),
	)
	return b
}

// screenshot saves the page as it is now under name (a file name without
// extension) and returns the file's path.
func (b *browserSession) screenshot(name string) (string, error) {
	sctx, cancel := context.WithTimeout(b.browser, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if err != nil {
		return "", err
	}
	file := filepath.Join(b.out, name+".png")
	return file, os.WriteFile(file, png, 0o644)
}

// fail saves a screenshot and fails the test.
func (b *browserSession) fail(format string, args ...any) {
	b.t.Helper()
	b.shots++
	if file, err := b.screenshot(fmt.Sprintf("failure-%d", b.shots)); err != nil {
		b.t.Logf("no screenshot: %v", err)
	} else {
		b.t.Logf("screenshot saved: %s", file)
	}
	b.t.Fatalf(format, args...)
}

func (b *browserSession) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

func (b *browserSession) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.fail("text of %s: %v", sel, err)
	}
	return s
}

// status is the HTTP status of the page the browser shows.
func (b *browserSession) status() int {
	b.t.Helper()
	st, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`performance.getEntriesByType("navigation")[0].responseStatus`))
	if err != nil {
		b.fail("response status: %v", err)
	}
	return st
}

// waitJob waits on a job page (it reloads itself) until the job ends, and
// returns its state line.
func (b *browserSession) waitJob() string {
	b.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	state := ""
	for !strings.HasPrefix(state, "Done") && !strings.HasPrefix(state, "Failed") {
		if time.Now().After(deadline) {
			b.fail("job still %q after two minutes", state)
		}
		if s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#job-state"))); err == nil {
			state = s
		}
		if !strings.HasPrefix(state, "Done") {
			_ = chromedp.Do(b.ctx, chromedp.Sleep(100*time.Millisecond)) // the page reloads meanwhile
		}
	}
	return state
}

// TestAdminBrowser drives the admin UI in headless Chromium: log in, create
// a page, preview it, build and publish to a real node, and fetch the page
// from the node. It also checks that pages fit a phone's screen. On failure
// it saves a screenshot and prints its path.
func TestAdminBrowser(t *testing.T) {
	c := startAdminCluster(t)
	base := "http://" + c.m.AdminAddr()
	host := sample.AlphaHost
	b := newBrowser(t, base, "admin-browser")
	do, text, fail := b.do, b.text, b.fail
	ctx := b.ctx

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
	state := b.waitJob()
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

// TestAdminCrawl logs in and follows every link the admin UI shows, breadth
// first, as a user clicking around would: each must answer 200 and show no
// error page. It stays on the admin host and does not follow links that
// delete or log out. Each distinct page is saved as a screenshot at 1280
// and 390 px (the test's artifacts), and must fit the phone's width.
func TestAdminCrawl(t *testing.T) {
	c := startAdminCluster(t)
	base := "http://" + c.m.AdminAddr()
	b := newBrowser(t, base, "admin-crawl")
	const maxPages = 400
	queue := []string{base + "/"}
	seen := map[string]bool{base + "/": true}
	shot := map[string]bool{}
	linksOf := `Array.from(document.querySelectorAll("a[href]")).map(a => a.href)`
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		if len(seen) > maxPages {
			t.Fatalf("more than %d distinct links: the crawl is not bounded by the UI", maxPages)
		}
		b.do("open "+u, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(u), chromedp.WaitReady(chromedp.CSS("body")))
		if st := b.status(); st != 200 {
			b.fail("%s answered %d", u, st)
		}
		body := b.text("body")
		if strings.Contains(body, "Sorry") {
			b.fail("%s shows an error page: %.300s", u, body)
		}
		// A preview is the site's page: its links (checked by admin's
		// tests) lead to more previews, not to more of the admin.
		if strings.HasPrefix(u, base+"/static/") || strings.Contains(u, "/preview?") {
			continue
		}
		// One pair of screenshots per kind of page (its path).
		if page := strings.SplitN(strings.TrimPrefix(u, base), "?", 2)[0]; !shot[page] {
			shot[page] = true
			name := strings.NewReplacer("/", "_", ".", "_").Replace(strings.Trim(page, "/"))
			if name == "" {
				name = "start"
			}
			if _, err := b.screenshot(name + "-1280"); err != nil {
				t.Errorf("screenshot of %s: %v", u, err)
			}
			b.do("phone "+u, chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitReady(chromedp.CSS("body")))
			if _, err := b.screenshot(name + "-390"); err != nil {
				t.Errorf("screenshot of %s: %v", u, err)
			}
			if fits, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool]("document.documentElement.scrollWidth <= window.innerWidth + 1")); err != nil || !fits {
				t.Errorf("%s does not fit a 390 px screen (%v)", u, err)
			}
		}
		links, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](linksOf))
		if err != nil {
			b.fail("links of %s: %v", u, err)
		}
		for _, l := range links {
			l, _, _ = strings.Cut(l, "#")
			if !strings.HasPrefix(l, base+"/") || seen[l] || strings.Contains(l, "delete") || strings.Contains(l, "logout") {
				continue
			}
			seen[l] = true
			queue = append(queue, l)
		}
	}
	// The lists link to every page, category, template and asset of the
	// sample site: those are the links that were broken.
	for _, want := range []string{"/pages/edit?path=%2Fabout%2F", "/categories?path=%2Fnews%2F", "/templates/edit?name=", "/assets/edit?path=%2Ftheme%2Fstyle.css"} {
		found := false
		for l := range seen {
			found = found || strings.Contains(strings.ToLower(l), strings.ToLower(want))
		}
		if !found {
			t.Errorf("the crawl never reached a link containing %q", want)
		}
	}
	t.Logf("%d links followed; screenshots of %d pages in %s", len(seen), len(shot), b.out)
}

// TestAdminEditExistingPage edits a page the way a user does, only by
// clicking: the site, its page list, the page's link, the body, preview,
// Build & publish; when the job says done the node serves the change.
func TestAdminEditExistingPage(t *testing.T) {
	c := startAdminCluster(t)
	base := "http://" + c.m.AdminAddr()
	host := sample.AlphaHost
	b := newBrowser(t, base, "admin-edit")
	b.do("open the site",
		chromedp.Click(chromedp.CSS(`a[href="/sites/`+host+`/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/sites/`+host+`/pages"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/sites/`+host+`/pages"]`)),
		chromedp.WaitVisible(chromedp.CSS(`td[data-label="Path"] a`)),
	)
	links, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('td[data-label="Path"] a')).map(a => a.textContent)`))
	if err != nil || len(links) == 0 {
		b.fail("page list: %v %v", links, err)
	}
	path := "/about/"
	// The link whose text is the path, clicked as a user clicks it.
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => { const a = Array.from(document.querySelectorAll('td[data-label="Path"] a')).find(a => a.textContent === "`+path+`"); a.click(); return true })()`)); err != nil {
		b.fail("click %s in the page list %v: %v", path, links, err)
	}
	b.do("open "+path, chromedp.WaitVisible(chromedp.CSS("#body")))
	if st := b.status(); st != 200 {
		b.fail("the page list's link to %s answered %d", path, st)
	}
	// Select the old text and type over it.
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => { const t = document.querySelector("#body"); t.focus(); t.select(); return true })()`)); err != nil {
		b.fail("select the body: %v", err)
	}
	b.do("edit the body",
		chromedp.SendKeys(chromedp.CSS("#body"), "Edited by **clicking** in the admin."),
		chromedp.Click(chromedp.CSS("#save")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if got := b.text(".flash"); got != "Saved." {
		b.fail("after save: flash %q", got)
	}
	preview, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('a[href*="/preview?path="]').href`))
	if err != nil {
		b.fail("no preview link: %v", err)
	}
	b.do("preview", chromedp.Navigate(preview), chromedp.WaitReady(chromedp.CSS("body")))
	if got, err := chromedp.Run(b.ctx, chromedp.InnerHTML(chromedp.CSS("body"))); err != nil || !strings.Contains(got, "<strong>clicking</strong>") {
		b.fail("preview %s: %v %.300s", preview, err, got)
	}
	b.do("build & publish",
		chromedp.Navigate(base+"/"),
		chromedp.Click(chromedp.CSS(`a[href="/sites/`+host+`/"]`)),
		chromedp.WaitVisible(chromedp.CSS("#build-publish")),
		chromedp.Click(chromedp.CSS("#build-publish")),
		chromedp.WaitVisible(chromedp.CSS("#job-state")),
	)
	if state := b.waitJob(); !strings.HasPrefix(state, "Done") {
		b.fail("job: %q", state)
	}
	code, body := fetch(t, "http://"+c.node.Addr()+path, host)
	if code != 200 || !strings.Contains(body, "Edited by <strong>clicking</strong> in the admin.") {
		b.fail("node0 %s after the job said done: %d %.300s", path, code, body)
	}
}

// TestAdminForms fills and submits the admin's forms the way a user does,
// typing into their fields and clicking their buttons: valid input is saved
// and says so; invalid input is refused with the field's error and a 4xx,
// and the user's typing is kept.
func TestAdminForms(t *testing.T) {
	c := startAdminCluster(t)
	base := "http://" + c.m.AdminAddr()
	site := "/sites/" + sample.AlphaHost
	b := newBrowser(t, base, "admin-forms")
	type field struct{ sel, value string }
	for _, tc := range []struct {
		name   string
		page   string  // where the form is
		fields []field // typed over what the field holds
		submit string  // the button clicked
		status int     // of the answer
		want   string  // text the answer shows: the flash, or the field error
	}{
		{"CategoryOK", site + "/categories", []field{{"#path", "/forms/"}, {"#title", "Forms"}}, `form[action$="/categories"] button[type=submit]`, 200, "Saved."},
		{"CategoryBadPath", site + "/categories", []field{{"#path", "Forms Here"}, {"#title", "Forms"}}, `form[action$="/categories"] button[type=submit]`, 400, "/"},
		{"PageOK", site + "/pages/edit", []field{{"#title", "Typed page"}, {"#path", "/forms/typed/"}, {"#body", "Typed **here**."}}, "#save", 200, "Saved."},
		{"PageBadPath", site + "/pages/edit", []field{{"#title", "Bad"}, {"#path", "/Bad Path/"}}, "#save", 400, "Path"},
		{"PageNoTitle", site + "/pages/edit", []field{{"#title", ""}, {"#path", "/forms/untitled/"}}, "#save", 400, "Title is required"},
		{"TemplateOK", site + "/templates/edit", []field{{"#name", "partials/forms.html"}, {"#body", `{{define "forms"}}<p>forms</p>{{end}}`}}, `form[action$="/templates"] button[type=submit]`, 200, "Saved."},
		{"TemplateBroken", site + "/templates/edit", []field{{"#name", "partials/broken.html"}, {"#body", `{{define "broken"}}{{.Unclosed`}}, `form[action$="/templates"] button[type=submit]`, 400, "broken"},
		{"AssetOK", site + "/assets/edit", []field{{"#path", "/theme/forms.css"}, {"#body", "p{margin:0}"}}, `form[action$="/assets/edit"] button[type=submit]`, 200, "Saved."},
		{"AssetBadPath", site + "/assets/edit", []field{{"#path", "/theme/../forms.css"}, {"#body", "p{}"}}, `form[action$="/assets/edit"] button[type=submit]`, 400, "Path"},
		{"SiteBadHost", "/sites/new", []field{{"#host", "bad_host!"}, {"#title", "Bad"}}, `form[action="/sites"] button[type=submit]`, 400, "host"},
		{"SiteOK", "/sites/new", []field{{"#host", "forms.localhost"}, {"#title", "Forms"}}, `form[action="/sites"] button[type=submit]`, 200, "Created."},
		{"SiteDeleteWrongName", "/sites/forms.localhost/delete", []field{{"#confirm", "forms"}}, `form[action$="/delete"] button[type=submit]`, 400, "Type the host name exactly"},
		{"SiteDeleteOK", "/sites/forms.localhost/delete", []field{{"#confirm", "forms.localhost"}}, `form[action$="/delete"] button[type=submit]`, 200, "Deleted."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.t = t
			b.do("open "+tc.page, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+tc.page), chromedp.WaitVisible(chromedp.CSS(tc.submit)))
			for _, f := range tc.fields {
				// Select what the field holds and type over it.
				sel := strings.ReplaceAll(f.sel, `"`, `\"`)
				if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => { const e = document.querySelector("`+sel+`"); e.focus(); e.select(); document.execCommand("delete"); return true })()`)); err != nil {
					b.fail("clear %s: %v", f.sel, err)
				}
				if f.value != "" {
					b.do("type into "+f.sel, chromedp.SendKeys(chromedp.CSS(f.sel), f.value))
				}
			}
			b.do("submit", chromedp.Click(chromedp.CSS(tc.submit)), chromedp.WaitReady(chromedp.CSS("main")))
			// The click starts a navigation: wait until the answer shows.
			deadline := time.Now().Add(30 * time.Second)
			var body string
			for {
				s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.readyState === "complete" && !document.activeElement?.matches("button") ? document.body.innerText : ""`))
				if err == nil && strings.Contains(s, tc.want) {
					body = s
					break
				}
				if time.Now().After(deadline) {
					b.fail("%s: the answer never showed %q; page:\n%.600s", tc.name, tc.want, s)
				}
				_ = chromedp.Do(b.ctx, chromedp.Sleep(50*time.Millisecond))
			}
			if st := b.status(); st != tc.status {
				b.fail("%s: answered %d, want %d; page:\n%.600s", tc.name, st, tc.status, body)
			}
			if tc.status >= 400 {
				if strings.Contains(body, "Sorry") {
					b.fail("%s: an error page instead of the form with its error:\n%.600s", tc.name, body)
				}
				for _, f := range tc.fields {
					if f.value == "" || f.sel == "#body" {
						continue
					}
					v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("`+strings.ReplaceAll(f.sel, `"`, `\"`)+`").value`))
					if err != nil || v != f.value {
						b.fail("%s: %s lost what was typed: %q (%v)", tc.name, f.sel, v, err)
					}
				}
			}
		})
	}
}
