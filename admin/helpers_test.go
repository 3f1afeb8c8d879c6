package admin_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/admin"
	"github.com/orchardhq/orchard/auth"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/internal/sqlitetest"
	"github.com/orchardhq/orchard/render"
)

// Users of every test UI.
const (
	rootName = "root"
	rootPass = "root-password-123"
	siteName = "admin"
	sitePass = "site-password-456"
)

// clock is a test clock the throttle and sessions read.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeBuilder and fakePublisher are hand-written fakes with function fields.
type fakeBuilder struct {
	build func(ctx context.Context, host string, progress func(done, total int)) (orchard.Release, error)
}

func (f *fakeBuilder) Build(ctx context.Context, host string, progress func(done, total int), note func(line string)) (orchard.Release, error) {
	return f.build(ctx, host, progress)
}

type fakePublisher struct {
	publish  func(ctx context.Context, host string, progress func(string)) (admin.PublishResult, error)
	rollback func(ctx context.Context, host, id string, progress func(string)) (admin.PublishResult, error)
	releases func(ctx context.Context, host string) ([]orchard.Release, string, error)
	nodes    func(ctx context.Context) []admin.NodeInfo
}

func (f *fakePublisher) Publish(ctx context.Context, host string, progress func(string)) (admin.PublishResult, error) {
	return f.publish(ctx, host, progress)
}
func (f *fakePublisher) Rollback(ctx context.Context, host, id string, progress func(string)) (admin.PublishResult, error) {
	return f.rollback(ctx, host, id, progress)
}
func (f *fakePublisher) Releases(ctx context.Context, host string) ([]orchard.Release, string, error) {
	return f.releases(ctx, host)
}
func (f *fakePublisher) Nodes(ctx context.Context) []admin.NodeInfo { return f.nodes(ctx) }

// testUI is an admin UI on a real SQLite store behind a loopback server.
type testUI struct {
	t     testing.TB
	store orchard.Store
	srv   *httptest.Server
	clock *clock
	ui    *admin.Handler
}

// cheapParams are small argon2id parameters that keep tests fast; test
// UIs hash with them unless told otherwise.
func cheapParams() auth.Params {
	p := auth.DefaultParams()
	p.Memory, p.Time = 1024, 1
	return p
}

// cheapHash hashes pw with cheapParams.
func cheapHash(t testing.TB, pw string) string {
	t.Helper()
	h, err := auth.HashPasswordParams(pw, cheapParams())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// newUI starts the admin UI with the sample site alpha and two users: a
// cluster admin (root) and alpha's admin (admin). opt's Store, Now and
// Logger are filled in, and PasswordParams when zero (cheapParams).
func newUI(t testing.TB, opt admin.Options) *testUI {
	t.Helper()
	ctx := context.Background()
	db := sqlitetest.MustOpen(t)
	c := sample.Sites()[0]
	c.Templates, c.Assets = render.DefaultTemplates(), render.DefaultTheme()
	if err := db.ReplaceSite(ctx, c, false); err != nil {
		t.Fatal(err)
	}
	for _, u := range []orchard.User{{Site: "", Name: rootName, PasswordHash: cheapHash(t, rootPass)},
		{Site: sample.AlphaHost, Name: siteName, PasswordHash: cheapHash(t, sitePass)}} {
		if err := db.PutUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
	}
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	opt.Store, opt.Now = db, clk.now
	if opt.PasswordParams == (auth.Params{}) {
		opt.PasswordParams = cheapParams()
	}
	ui := admin.New(opt)
	srv := httptest.NewServer(ui)
	t.Cleanup(func() { srv.Close(); ui.Close() })
	return &testUI{t: t, store: db, srv: srv, clock: clk, ui: ui}
}

// client is a browser without JavaScript: a cookie jar, no redirects
// followed unless asked.
type client struct {
	t    testing.TB
	ui   *testUI
	http *http.Client
	csrf string
}

func (u *testUI) client() *client { return u.clientFor(u.t) }

// clientFor returns a client that reports failures to t.
func (u *testUI) clientFor(t testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, ui: u, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// response is a read response.
type response struct {
	status int
	header http.Header
	body   string
}

var csrfRe = regexp.MustCompile(`name="(?:csrf|token)" value="([0-9a-f]{64})"`)

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfRe.FindStringSubmatch(string(b)); m != nil && strings.Contains(string(b), `name="csrf"`) {
		c.csrf = m[1]
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func (c *client) get(path string) response {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.ui.srv.URL+path, nil)
	return c.do(req)
}

// post sends a form; the session's CSRF token is added unless the form
// has a "csrf" key already (set it to "" to send none).
func (c *client) post(path string, form url.Values) response {
	c.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	req, _ := http.NewRequest("POST", c.ui.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// login logs in through the form and fails the test unless it worked.
func (c *client) login(site, name, pw string) {
	c.t.Helper()
	if r := c.tryLogin(site, name, pw); r.status != http.StatusSeeOther {
		c.t.Fatalf("login %s@%s: %d\n%s", name, site, r.status, r.body)
	}
	// Load a page to learn the session's CSRF token.
	if r := c.get("/nodes"); r.status != 200 && r.status != 403 {
		c.t.Fatalf("GET /nodes after login: %d", r.status)
	}
	if c.csrf == "" {
		c.t.Fatal("no CSRF token after login")
	}
}

// tryLogin loads the login form and posts it.
func (c *client) tryLogin(site, name, pw string) response {
	c.t.Helper()
	r := c.get("/login")
	m := csrfRe.FindStringSubmatch(r.body)
	if m == nil {
		c.t.Fatalf("login form has no token:\n%s", r.body)
	}
	return c.post("/login", url.Values{"token": {m[1]}, "site": {site}, "name": {name}, "password": {pw}, "csrf": nil})
}

// wantStatus fails the test when r's status is not want.
func wantStatus(t testing.TB, what string, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, want %d\n%.2000s", what, r.status, want, r.body)
	}
}

// wantBody fails the test when r's body lacks one of the strings.
func wantBody(t testing.TB, what string, r response, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(r.body, s) {
			t.Fatalf("%s: body lacks %q\n%.3000s", what, s, r.body)
		}
	}
}
