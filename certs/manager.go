package certs

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mholt/acmez/v3/acme"

	"github.com/orchardhq/orchard"
)

// Defaults for Options fields left zero.
const (
	DefaultInterval    = 15 * time.Second
	DefaultRenewWindow = 1.0 / 3
	DefaultRetryMin    = time.Minute
	DefaultRetryMax    = 24 * time.Hour
	// DefaultOrdersPerRound is Options.OrdersPerRound's default.
	DefaultOrdersPerRound = 10
	// obtainTimeout bounds one order, challenges and polling included.
	obtainTimeout = 3 * time.Minute
	// balancerTimeout bounds one call to one balancer.
	balancerTimeout = 10 * time.Second
	// waitForBalancer is the loop's interval while no balancer answers.
	waitForBalancer = 2 * time.Second
)

// SiteLister is the part of orchard.Store the manager reads.
type SiteLister interface {
	Sites(ctx context.Context) ([]*orchard.Site, error)
}

// Balancer is one balancer as the manager reaches it; cmd/orchard fills the
// functions with the publish package's signed calls.
type Balancer struct {
	Name            string
	Digest          func(ctx context.Context) (orchard.CertDigest, error)
	PutCerts        func(ctx context.Context, set *orchard.CertSet) error
	PutChallenge    func(ctx context.Context, token, keyAuth string) error
	DeleteChallenge func(ctx context.Context, token string) error
}

// Options is what a Manager needs; cmd/orchard fills it from the [acme]
// table of the cluster file.
type Options struct {
	Sites        SiteLister // required
	Dir          string     // certificates, keys, account and state; required (<master data>/certs)
	SettingsFile string     // per-site HTTPS settings (see LoadSettings); "" = defaults for every site
	Directory    string     // the CA's directory URL; required
	Email        string     // the account's contact
	AgreeTerms   bool       // the CA's terms are accepted
	EABKeyID     string     // external account binding, for CAs that need it
	EABHMACKey   string     // base64url
	Profile      string     // ACME profile to order ("" = the CA's default)
	HTTPClient   *http.Client
	Balancers    []Balancer

	RenewWindow float64       // fraction of the lifetime left at renewal; default 1/3
	Interval    time.Duration // how often sites are checked and balancers reconciled; default 15s
	RetryMin    time.Duration // first wait after a failed order of a name; default 1m, doubling
	RetryMax    time.Duration // longest wait between orders of a failing name; default 24h
	// OrdersPerRound bounds the orders of one Check (default 10): a
	// thousand new sites are ordered over minutes, not in one burst.
	OrdersPerRound int
	// NoLoop makes Open start no background loop: the caller runs Check
	// when it wants (tests that step the clock).
	NoLoop bool
	Clock  func() time.Time
	Logger *slog.Logger
}

// Status is the state of one host's certificate, as `orchard certs` lists
// it and the state file keeps it.
type Status struct {
	Host      string    `json:"host"`
	Site      string    `json:"site"`
	Source    string    `json:"source"` // SourceACME or SourceFile
	Issuer    string    `json:"issuer,omitempty"`
	NotBefore time.Time `json:"not_before,omitzero"`
	NotAfter  time.Time `json:"not_after,omitzero"`
	Renewed   time.Time `json:"renewed,omitzero"` // when the current certificate was obtained
	// Failures counts orders that failed in a row; NextTry is when the
	// next is allowed (exponential back-off).
	Failures  int       `json:"failures,omitempty"`
	NextTry   time.Time `json:"next_try,omitzero"`
	LastError string    `json:"last_error,omitempty"` // the CA's message
	ErrorAt   time.Time `json:"error_at,omitzero"`
}

// Sources of a certificate.
const (
	SourceACME = "acme" // obtained and renewed by the manager
	SourceFile = "file" // the site's own files (HTTPSSettings.CertFile)
)

// Manager obtains, renews and drops certificates and keeps the balancers'
// sets equal to its own. Build it with New, start it with Open, stop it
// with Close.
type Manager struct {
	opts  Options
	log   *slog.Logger
	files *files

	mu       sync.Mutex
	status   map[string]*Status // by host (ACME certificates)
	pairs    map[string]keyPair // by host: PEM of each ACME certificate
	own      []ownCert          // the sites' own certificates, as last read
	policies map[string]orchard.HostPolicy
	set      *orchard.CertSet
	synced   map[string]string // balancer -> digest it was last seen or made to hold

	errorsTotal atomic.Uint64
	// noBalancer is set while orders wait for a balancer to answer
	// challenges: the loop then looks again every few seconds.
	noBalancer atomic.Bool
	checking   sync.Mutex // one Check at a time: orders of a name never overlap
	// pausedUntil stops every order after the CA said rateLimited, for
	// RetryMin doubling with each such answer (pauses); under checking.
	pausedUntil time.Time
	pauses      int
	acct        *account // the ACME account, registered at the first order; under checking
	wake        chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

type keyPair struct{ cert, key []byte }

type ownCert struct {
	status Status
	cert   orchard.SiteCert
}

// New returns a manager for opts with defaults filled in; it does no I/O.
func New(opts Options) *Manager {
	if opts.RenewWindow <= 0 || opts.RenewWindow >= 1 {
		opts.RenewWindow = DefaultRenewWindow
	}
	opts.Interval = orchard.OrDefault(opts.Interval, DefaultInterval)
	opts.RetryMin = orchard.OrDefault(opts.RetryMin, DefaultRetryMin)
	opts.RetryMax = orchard.OrDefault(opts.RetryMax, DefaultRetryMax)
	opts.OrdersPerRound = orchard.OrDefault(opts.OrdersPerRound, DefaultOrdersPerRound)
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: time.Minute}
	}
	m := &Manager{
		opts:     opts,
		log:      opts.Logger.With("component", "certs"),
		files:    &files{dir: opts.Dir},
		status:   map[string]*Status{},
		pairs:    map[string]keyPair{},
		policies: map[string]orchard.HostPolicy{},
		synced:   map[string]string{},
		wake:     make(chan struct{}, 1),
	}
	m.set = &orchard.CertSet{}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m
}

// Open loads the certificates kept in Dir, so the balancers get them at
// once even when the CA is down, and starts the loop that checks the sites
// every Interval. It fails synchronously on an unusable Dir.
func (m *Manager) Open(ctx context.Context) error {
	if m.opts.Sites == nil || m.opts.Dir == "" || m.opts.Directory == "" {
		return orchard.Errorf(orchard.EINVALID, "The certificate manager needs sites, a directory and a CA.")
	}
	status, pairs, err := m.files.load()
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.status, m.pairs = status, pairs
	m.rebuildLocked()
	m.mu.Unlock()
	m.log.Info("certificate manager started", "ca", m.opts.Directory, "certs", len(pairs), "balancers", len(m.opts.Balancers))
	if m.opts.NoLoop {
		return nil
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.loop(m.ctx)
	}()
	return nil
}

// Close stops the loop (an order in flight is cancelled) and waits for it.
// It is idempotent.
func (m *Manager) Close() error {
	m.once.Do(func() {
		m.cancel()
		m.wg.Wait()
	})
	return nil
}

// Wake makes the loop check the sites now rather than at its next tick
// (a site was created, an alias added, a setting changed).
func (m *Manager) Wake() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *Manager) loop(ctx context.Context) {
	for {
		if err := m.Check(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("certificate check", "err", err)
		}
		wait := m.opts.Interval
		if m.noBalancer.Load() {
			// A master usually starts before its balancers: order as
			// soon as one answers.
			wait = min(wait, waitForBalancer)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-m.wake:
			t.Stop()
		}
	}
}

// Check does one round: it reads the sites and their settings, drops the
// certificates of names no site has, orders those missing or due for
// renewal (one at a time, each name after its back-off), and brings every
// balancer's set up to date. The loop runs it every Interval.
func (m *Manager) Check(ctx context.Context) error {
	m.checking.Lock()
	defer m.checking.Unlock()
	sites, err := m.opts.Sites.Sites(ctx)
	if err != nil {
		// The current set stays in service: reconcile with it.
		m.syncBalancers(ctx, false)
		return fmt.Errorf("list sites: %w", err)
	}
	settings, err := LoadSettings(m.opts.SettingsFile)
	if err != nil {
		m.syncBalancers(ctx, false)
		return err
	}
	want := map[string]string{} // host -> site
	policies := map[string]orchard.HostPolicy{}
	var own []ownCert
	for _, s := range sites {
		st := settings[s.Host]
		names := append([]string{s.Host}, s.Aliases...)
		if st.Redirect || st.HSTSSeconds > 0 {
			for _, n := range names {
				policies[n] = orchard.HostPolicy{Redirect: st.Redirect, HSTSSeconds: st.HSTSSeconds}
			}
		}
		switch {
		case st.CertFile != "":
			c, err := loadOwn(s.Host, st.CertFile, st.KeyFile)
			if err != nil {
				m.log.Warn("site certificate file", "site", s.Host, "err", err)
				continue
			}
			own = append(own, c)
		case st.Off:
		default:
			for _, n := range names {
				want[n] = s.Host
			}
		}
	}

	m.mu.Lock()
	for host := range m.status {
		if _, ok := want[host]; !ok {
			delete(m.status, host)
			delete(m.pairs, host)
			if err := m.files.remove(host); err != nil {
				m.log.Warn("remove certificate", "host", host, "err", err)
			}
			m.log.Info("certificate dropped", "host", host)
		}
	}
	m.own, m.policies = own, policies
	m.rebuildLocked()
	var due []string
	now := m.opts.Clock()
	for _, host := range slices.Sorted(maps.Keys(want)) {
		st := m.status[host]
		if st == nil {
			st = &Status{Host: host, Site: want[host], Source: SourceACME}
			m.status[host] = st
		}
		st.Site = want[host]
		if m.isDue(st, now) && !now.Before(st.NextTry) {
			due = append(due, host)
		}
	}
	m.mu.Unlock()
	reached := m.syncBalancers(ctx, false)
	if len(due) > 0 && reached == 0 {
		// No balancer would answer the challenges: an order would only
		// fail and spend the CA's rate limit. Not a failure of the names.
		if !m.noBalancer.Swap(true) {
			m.log.Warn("no balancer answers: certificate orders wait", "due", len(due))
		}
		due = nil
	} else {
		m.noBalancer.Store(false)
	}
	if now.Before(m.pausedUntil) {
		due = nil // the CA asked us to slow down
	}
	if len(due) > m.opts.OrdersPerRound {
		due = due[:m.opts.OrdersPerRound]
	}

	obtained := false
	for _, host := range due {
		if ctx.Err() != nil {
			break
		}
		obtained = m.obtainOne(ctx, host) || obtained
	}
	if obtained {
		// Once per round: the whole set goes to every balancer, so a
		// push per certificate would send it OrdersPerRound times.
		m.syncBalancers(ctx, true)
	}
	m.mu.Lock()
	list := m.statusLocked()
	m.mu.Unlock()
	return m.files.saveState(list)
}

// isDue reports whether host needs a certificate: it has none, or the
// renewal window of the current one has begun.
func (m *Manager) isDue(st *Status, now time.Time) bool {
	if _, ok := m.pairs[st.Host]; !ok || st.NotAfter.IsZero() {
		return true
	}
	life := st.NotAfter.Sub(st.NotBefore)
	return !now.Before(st.NotAfter.Add(-time.Duration(float64(life) * m.opts.RenewWindow)))
}

// obtainOne orders a certificate for host and records the outcome: the
// new certificate, or the CA's error and the back-off before the next try.
// The current certificate, if any, stays in service either way.
func (m *Manager) obtainOne(ctx context.Context, host string) bool {
	ctx, cancel := context.WithTimeout(ctx, obtainTimeout)
	defer cancel()
	pair, leaf, err := m.obtain(ctx, host)
	now := m.opts.Clock()
	if err != nil {
		// Registered again at the next order: a CA that lost its
		// state (or a test CA restarted) forgets accounts.
		m.acct = nil
		m.noteRateLimit(err, now)
	} else {
		m.pauses = 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.status[host]
	if st == nil { // the site went while the order ran
		return false
	}
	if err == nil {
		err = m.files.savePair(host, pair)
	}
	if err != nil {
		if ctx.Err() != nil && m.ctx.Err() != nil {
			return false // shutting down: not the CA's fault
		}
		st.Failures++
		wait := m.opts.RetryMin << min(st.Failures-1, 30)
		if wait <= 0 || wait > m.opts.RetryMax {
			wait = m.opts.RetryMax
		}
		st.NextTry = now.Add(wait)
		st.LastError, st.ErrorAt = err.Error(), now
		m.errorsTotal.Add(1)
		m.log.Warn("certificate not obtained", "host", host, "failures", st.Failures, "retry_in", wait, "err", err)
		return false
	}
	renewal := !st.NotAfter.IsZero()
	st.Issuer, st.NotBefore, st.NotAfter, st.Renewed = issuerName(leaf), leaf.NotBefore, leaf.NotAfter, now
	st.Failures, st.NextTry, st.LastError, st.ErrorAt = 0, time.Time{}, "", time.Time{}
	m.pairs[host] = pair
	m.rebuildLocked()
	m.log.Info("certificate obtained", "host", host, "renewal", renewal, "issuer", st.Issuer, "not_after", st.NotAfter)
	return true
}

// noteRateLimit pauses every order when the CA answered rateLimited: one
// name's back-off would not stop the next names from spending the same
// limit. The pause doubles with each such answer, from RetryMin to
// RetryMax. Called under checking.
func (m *Manager) noteRateLimit(err error, now time.Time) {
	var p acme.Problem
	if !errors.As(err, &p) || p.Type != acme.ProblemTypeRateLimited {
		return
	}
	wait := m.opts.RetryMin << min(m.pauses, 30)
	if wait <= 0 || wait > m.opts.RetryMax {
		wait = m.opts.RetryMax
	}
	m.pauses++
	m.pausedUntil = now.Add(wait)
	m.log.Warn("the CA limits our rate: every order waits", "for", wait, "err", err)
}

// rebuildLocked makes the set the balancers should hold from the ACME
// certificates, the sites' own and the policies.
func (m *Manager) rebuildLocked() {
	set := &orchard.CertSet{Policies: m.policies}
	for _, host := range slices.Sorted(maps.Keys(m.pairs)) {
		p := m.pairs[host]
		var notAfter time.Time
		if st := m.status[host]; st != nil {
			notAfter = st.NotAfter
		}
		set.Certs = append(set.Certs, orchard.SiteCert{Names: []string{host}, CertPEM: p.cert, KeyPEM: p.key, NotAfter: notAfter})
	}
	for _, o := range m.own {
		set.Certs = append(set.Certs, o.cert)
	}
	m.set = set
}

// syncBalancers brings every balancer's set up to the manager's: with
// force it sends the set to each; otherwise it asks each for its digest
// and sends only where it differs (a balancer that started or was down).
// It returns how many balancers hold the set.
func (m *Manager) syncBalancers(ctx context.Context, force bool) int {
	m.mu.Lock()
	set := m.set
	m.mu.Unlock()
	digest := set.Digest()
	var wg sync.WaitGroup
	var holding atomic.Int64
	for _, b := range m.opts.Balancers {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, balancerTimeout)
			defer cancel()
			if !force {
				d, err := b.Digest(ctx)
				if err != nil {
					m.log.Debug("balancer not reached", "balancer", b.Name, "err", err)
					return
				}
				if d.Digest == digest {
					holding.Add(1)
					return
				}
			}
			if err := b.PutCerts(ctx, set); err != nil {
				m.log.Warn("certificates not sent", "balancer", b.Name, "err", err)
				return
			}
			holding.Add(1)
			m.log.Info("certificates sent", "balancer", b.Name, "certs", len(set.Certs))
		})
	}
	wg.Wait()
	return int(holding.Load())
}

// Set returns the certificate set the balancers should hold.
func (m *Manager) Set() *orchard.CertSet {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.set
}

// Status returns the state of every host's certificate, sorted by host.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.statusLocked()
}

func (m *Manager) statusLocked() []Status {
	out := make([]Status, 0, len(m.status)+len(m.own))
	for _, st := range m.status {
		out = append(out, *st)
	}
	for _, o := range m.own {
		out = append(out, o.status)
	}
	slices.SortFunc(out, func(a, b Status) int {
		if a.Host < b.Host {
			return -1
		} else if a.Host > b.Host {
			return 1
		}
		return 0
	})
	return out
}

// RenewalErrors is how many orders have failed since the manager started.
func (m *Manager) RenewalErrors() uint64 { return m.errorsTotal.Load() }

// issuerName is the issuer's common name, else its organization.
func issuerName(c *x509.Certificate) string {
	if c.Issuer.CommonName != "" {
		return c.Issuer.CommonName
	}
	if len(c.Issuer.Organization) > 0 {
		return c.Issuer.Organization[0]
	}
	return c.Issuer.String()
}

var errNoBalancer = errors.New("no balancer took the challenge")
