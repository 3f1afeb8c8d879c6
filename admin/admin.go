package admin

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/auth"
)

// Builder builds a site's current content into a release ("Build cache").
type Builder interface {
	// Build renders host into a release, calling progress with the outputs
	// done so far and the total, and note with warnings about the release
	// (links to nothing). Errors are orchard errors (ENOTFOUND, EINVALID
	// naming a template) or wrapped internal ones.
	Build(ctx context.Context, host string, progress func(done, total int), note func(line string)) (orchard.Release, error)
}

// DashboardView renders the cluster dashboard for a page of the admin.
type DashboardView interface {
	// Content returns the dashboard's style sheet (scoped to its own
	// elements) and body for the query (?range=), and how often the page
	// reloads itself in seconds; an error for a query it does not take.
	Content(query url.Values) (style template.CSS, body template.HTML, refresh int, err error)
}

// Publisher sends releases to the nodes and reports on them.
type Publisher interface {
	// Publish activates the newest release of host on every node
	// (ENOTFOUND when the site has no release yet).
	Publish(ctx context.Context, host string, progress func(line string)) (PublishResult, error)
	// Rollback activates release id of host on every node (ENOTFOUND).
	Rollback(ctx context.Context, host, id string, progress func(line string)) (PublishResult, error)
	// Releases lists the releases of host, newest first, and the id of the
	// active one ("" when none).
	Releases(ctx context.Context, host string) ([]orchard.Release, string, error)
	// Nodes asks every node for its state.
	Nodes(ctx context.Context) []NodeInfo
}

// HTTPSSettings keeps each site's HTTPS settings (automatic certificates,
// redirect to HTTPS, HSTS), which live beside the certificates on the
// master, not in the store.
type HTTPSSettings interface {
	Get(host string) (orchard.HTTPSSettings, error)
	Set(host string, s orchard.HTTPSSettings) error
}

// PublishResult is how a publish or rollback went.
type PublishResult struct {
	Release string
	Nodes   []NodeResult
}

// OK reports whether no node failed (nodes that are down catch up later).
func (r PublishResult) OK() bool {
	for _, n := range r.Nodes {
		if n.State == "failed" {
			return false
		}
	}
	return true
}

// NodeResult is how a publish went on one node.
type NodeResult struct {
	Name  string
	State string // "activated", "down", "failed", "staged"
	Note  string // error or explanation, may be ""
}

// NodeInfo is the state of one node for the nodes page.
type NodeInfo struct {
	Name     string
	Addr     string
	Up       bool
	Err      string
	Version  string
	Uptime   time.Duration
	Releases map[string]string // site -> active release id
}

// Options are the dependencies of the admin UI.
type Options struct {
	Store     orchard.Store
	Builder   Builder       // nil: the build buttons are hidden
	Publisher Publisher     // nil: publish, releases and nodes are hidden
	HTTPS     HTTPSSettings // nil (no [acme] in the cluster file): the HTTPS tab is hidden
	Logger    *slog.Logger  // used as given (add "component" or "listener" before); default discards
	// Secure marks the session cookie Secure (set it when served over TLS).
	Secure bool
	// Dashboard, when non-nil, is served at /dashboard/ to cluster admins,
	// in the admin's layout.
	Dashboard DashboardView
	// SessionTTL is how long a session lives without use (default 8 h).
	SessionTTL time.Duration
	// Now returns the time (default time.Now); tests move it.
	Now func() time.Time
	// PasswordParams are the argon2id parameters new and rehashed
	// passwords get (default auth.DefaultParams); a hash with other
	// parameters is rehashed at its user's next successful login.
	PasswordParams auth.Params
	// MaxPasswordChecks bounds the password checks run at once (default
	// 2): each costs the memory of its hash's parameters, 19 MiB with the
	// defaults. A login that finds no free slot within CheckWait (default
	// 3 s) gets 503 with Retry-After, and counts as no failure.
	MaxPasswordChecks int
	CheckWait         time.Duration
	// CheckPassword checks a password against a stored hash (default
	// auth.CheckPassword); tests wrap it to count checks.
	CheckPassword func(hash, pw string) (bool, error)
}

//go:embed ui
var uiFS embed.FS

// Handler is the admin UI. Create it with New; Close stops its jobs.
type Handler struct {
	opt      Options
	log      *slog.Logger
	mux      *http.ServeMux
	pages    map[string]*template.Template
	sessions *sessions
	throttle *throttle
	checks   chan struct{} // a slot per password check running (Options.MaxPasswordChecks)
	dummy    func() (string, error)
	jobs     *jobs

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// New returns the admin UI handler; it does no I/O.
func New(opt Options) *Handler {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	opt.SessionTTL = orchard.OrDefault(opt.SessionTTL, 8*time.Hour)
	if opt.PasswordParams == (auth.Params{}) {
		opt.PasswordParams = auth.DefaultParams()
	}
	opt.MaxPasswordChecks = orchard.OrDefault(opt.MaxPasswordChecks, 2)
	opt.CheckWait = orchard.OrDefault(opt.CheckWait, 3*time.Second)
	if opt.CheckPassword == nil {
		opt.CheckPassword = auth.CheckPassword
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Handler{
		opt:      opt,
		log:      opt.Logger,
		sessions: newSessions(opt.Now, opt.SessionTTL),
		throttle: newThrottle(opt.Now, maxFailures, failureWindow),
		checks:   make(chan struct{}, opt.MaxPasswordChecks),
		jobs:     newJobs(),
		ctx:      ctx,
		cancel:   cancel,
	}
	// Checked when the user does not exist, so a wrong user name takes as
	// long as a wrong password; made at the first such login.
	h.dummy = sync.OnceValues(func() (string, error) {
		return auth.HashPasswordParams(randomToken(), opt.PasswordParams)
	})
	h.pages = parsePages()
	h.routes()
	return h
}

// Close cancels running jobs and waits for them. It is idempotent.
func (h *Handler) Close() error {
	h.once.Do(h.cancel)
	h.wg.Wait()
	return nil
}

// ServeHTTP serves the admin UI with security headers on every response.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(uiFS, "ui/static")
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /login", h.loginForm)
	m.HandleFunc("POST /login", h.login)
	m.HandleFunc("POST /logout", h.auth(h.logout))
	m.HandleFunc("GET /{$}", h.auth(h.home))

	m.HandleFunc("POST /sites", h.cluster(h.createSite))
	m.HandleFunc("GET /sites/new", h.cluster(h.newSiteForm))
	m.HandleFunc("GET /sites/{host}/delete", h.cluster(h.deleteSiteForm))
	m.HandleFunc("POST /sites/{host}/delete", h.cluster(h.deleteSite))
	m.HandleFunc("GET /nodes", h.cluster(h.nodes))

	m.HandleFunc("GET /sites/{host}/{$}", h.site(h.siteHome))
	m.HandleFunc("GET /sites/{host}/categories", h.site(h.categories))
	m.HandleFunc("POST /sites/{host}/categories", h.site(h.saveCategory))
	m.HandleFunc("POST /sites/{host}/categories/move", h.site(h.moveCategory))
	m.HandleFunc("POST /sites/{host}/categories/delete", h.site(h.deleteCategory))
	m.HandleFunc("GET /sites/{host}/pages", h.site(h.pagesList))
	m.HandleFunc("GET /sites/{host}/pages/edit", h.site(h.editPage))
	m.HandleFunc("POST /sites/{host}/pages", h.site(h.savePage))
	m.HandleFunc("POST /sites/{host}/pages/delete", h.site(h.deletePage))
	m.HandleFunc("GET /sites/{host}/preview", h.site(h.previewStored))
	m.HandleFunc("POST /sites/{host}/preview", h.site(h.previewForm))
	m.HandleFunc("GET /sites/{host}/assets", h.site(h.assets))
	m.HandleFunc("POST /sites/{host}/assets", h.site(h.uploadAsset))
	m.HandleFunc("GET /sites/{host}/assets/edit", h.site(h.editAsset))
	m.HandleFunc("POST /sites/{host}/assets/edit", h.site(h.saveAssetText))
	m.HandleFunc("POST /sites/{host}/assets/delete", h.site(h.deleteAsset))
	m.HandleFunc("GET /sites/{host}/templates", h.site(h.templates))
	m.HandleFunc("GET /sites/{host}/templates/edit", h.site(h.editTemplate))
	m.HandleFunc("POST /sites/{host}/templates", h.site(h.saveTemplate))
	m.HandleFunc("GET /sites/{host}/redirects", h.site(h.redirects))
	m.HandleFunc("POST /sites/{host}/redirects", h.site(h.saveRedirect))
	m.HandleFunc("POST /sites/{host}/redirects/delete", h.site(h.deleteRedirect))
	if h.opt.HTTPS != nil {
		m.HandleFunc("GET /sites/{host}/https", h.site(h.https))
		m.HandleFunc("POST /sites/{host}/https", h.site(h.saveHTTPS))
	}
	m.HandleFunc("GET /sites/{host}/releases", h.site(h.releases))
	m.HandleFunc("POST /sites/{host}/build", h.site(h.startJob(jobBuild)))
	m.HandleFunc("POST /sites/{host}/publish", h.site(h.startJob(jobPublish)))
	m.HandleFunc("POST /sites/{host}/buildpublish", h.site(h.startJob(jobBuildPublish)))
	m.HandleFunc("POST /sites/{host}/rollback", h.site(h.startJob(jobRollback)))
	m.HandleFunc("GET /jobs/{id}", h.auth(h.jobPage))
	m.HandleFunc("GET /jobs/{id}/status", h.auth(h.jobStatus))
	if h.opt.Dashboard != nil {
		m.Handle("GET /dashboard/", h.cluster(h.dashboard))
		m.Handle("GET /dashboard", http.RedirectHandler("/dashboard/", http.StatusSeeOther))
	}
	h.mux = m
}
