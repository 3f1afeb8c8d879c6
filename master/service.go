package master

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/publish"
	"github.com/orchardhq/orchard/release"
)

// ContentStore is what a build reads from the database; orchard.Store
// satisfies it. Each method returns an ENOTFOUND *orchard.Error for an
// unknown site.
type ContentStore interface {
	// LoadSite reads a site's whole content in one snapshot.
	LoadSite(ctx context.Context, host string) (*orchard.SiteContent, error)
	// LoadSiteIndex reads a site's content without page bodies.
	LoadSiteIndex(ctx context.Context, host string) (*orchard.SiteContent, error)
	// PageBodies reads the bodies of the pages at paths.
	PageBodies(ctx context.Context, host string, paths []string) (map[string]orchard.PageBody, error)
}

// DefaultGCEvery is how often, at most, a publish garbage-collects the
// master's blobs unless Service.GCEvery says otherwise.
const DefaultGCEvery = 10 * time.Minute

// Service is the master's work on releases: it builds sites from the
// database into the release store, publishes and rolls them back to the
// nodes, records what every publish did (the publish statistics), and
// after every publish or rollback applies one rule to the store: prune
// each site to Keep releases and, at most every GCEvery, collect the
// blobs no release names. The CLI, the admin UI and the demo use the same
// Service, so a publish does the same whoever started it.
//
// Build it as a struct literal; the zero value of each optional field is
// its default. It is safe for concurrent use: builds run one at a time.
type Service struct {
	// Store is the database builds read. Required by Build.
	Store ContentStore
	// Releases is the master's release store. Required.
	Releases *release.Store
	// Publisher sends releases to the nodes; nil (a cluster without
	// nodes) makes Publish and Rollback fail with EINVALID.
	Publisher *publish.Publisher
	// Keep is how many releases of a site are kept (never the active
	// one, nor the newest); 0 keeps all.
	Keep int
	// DataDir holds the publish statistics, the rollback marks and the
	// GC stamp; default Releases.Dir().
	DataDir string
	// Port gives, for a site's scheme, the port visitors reach sites on
	// (0: the scheme's default); nil: always the default.
	Port func(scheme string) int
	// GCEvery is the least time between two blob collections after
	// publishes; default DefaultGCEvery. Collect runs one at any time.
	GCEvery time.Duration
	// Logger gets what a publish could not record; default discards.
	Logger *slog.Logger
	// Clock gives the time of records and of the GC stamp; default
	// time.Now.
	Clock func() time.Time

	buildMu sync.Mutex        // one build at a time into Releases
	links   release.LinkCache // links of the pages Build checked before
}

func (s *Service) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return time.Now()
	}
	return s.Clock()
}

func (s *Service) dataDir() string {
	if s.DataDir == "" {
		return s.Releases.Dir()
	}
	return s.DataDir
}

// Progress receives what a publish or a rollback does; either field may be
// nil.
type Progress struct {
	// Start is called once the release is known, before anything is sent:
	// its id, how many files nodes serve of it and how many nodes it goes
	// to.
	Start func(id string, files, nodes int)
	// Event is called as each node moves on (see publish.Event).
	Event func(publish.Event)
}

// Publish publishes release id of site (its newest when id is "") to
// every node, records the publish in the statistics, clears the site's
// rollback mark when every node that is up activated it, and applies the
// prune + GC rule. It returns an ENOTFOUND *orchard.Error when site has no
// such release, and EINVALID without a Publisher. Per-node failures are in
// the Result.
func (s *Service) Publish(ctx context.Context, site, id string, p Progress) (*publish.Result, error) {
	if s.Publisher == nil {
		return nil, orchard.Errorf(orchard.EINVALID, "The cluster has no node to publish to.")
	}
	if id == "" {
		newest, err := s.Releases.Latest(site)
		if err != nil {
			return nil, err
		}
		if newest == "" {
			return nil, orchard.Errorf(orchard.ENOTFOUND, "%s has no release yet.", site)
		}
		id = newest
	}
	res, err := s.send(ctx, site, id, false, p)
	if err == nil && res.OK() {
		if err := clearRollbackMark(s.dataDir(), site); err != nil {
			s.logger().Warn("clear rollback mark", "site", site, "err", err)
		}
	}
	return res, err
}

// Rollback activates release id of site on every node (the release before
// the active one when id is ""), telling each node which release it
// replaces so that it accepts going back. It records the publish, marks
// the site rolled back (so that a later publish of a newer release can
// say it undoes the rollback) and applies the prune + GC rule. It returns
// an ENOTFOUND *orchard.Error when site has no release id, EINVALID when
// there is no release to go back to or no Publisher.
func (s *Service) Rollback(ctx context.Context, site, id string, p Progress) (*publish.Result, error) {
	if s.Publisher == nil {
		return nil, orchard.Errorf(orchard.EINVALID, "The cluster has no node to roll back.")
	}
	was, err := s.Releases.Active(site)
	if err != nil {
		return nil, err
	}
	if id == "" {
		if id, err = s.PreviousRelease(site); err != nil {
			return nil, err
		}
	}
	res, err := s.send(ctx, site, id, true, p)
	if err == nil && res.OK() && was != "" && was != id {
		m := RollbackMark{From: was, To: id, At: s.now().UTC()}
		if err := saveRollbackMark(s.dataDir(), site, m); err != nil {
			s.logger().Warn("save rollback mark", "site", site, "err", err)
		}
	}
	return res, err
}

// send publishes release id of site (as a rollback or not) with the
// manifest as stored, records the result and applies the prune + GC rule.
func (s *Service) send(ctx context.Context, site, id string, rollback bool, p Progress) (*publish.Result, error) {
	res, err := s.sendRelease(ctx, site, id, publish.SendOptions{Rollback: rollback, Progress: p.Event}, p.Start)
	if rerr := recordPublish(s.dataDir(), site, res, err, s.now()); rerr != nil {
		s.logger().Warn("record publish metrics", "site", site, "err", rerr)
	}
	s.afterPublish()
	return res, err
}

// sendRelease loads release id of site and sends it to the nodes as opt
// says, calling start (when not nil) once it is loaded. It neither
// records the publish nor collects garbage.
func (s *Service) sendRelease(ctx context.Context, site, id string, opt publish.SendOptions, start func(id string, files, nodes int)) (*publish.Result, error) {
	m, encoded, err := s.Releases.ManifestEncoded(site, id)
	if err != nil {
		return nil, err
	}
	if encoded == nil { // stored as JSON by an older version: encoded on the way
		var eid string
		if encoded, eid, err = release.EncodeManifest(m); err != nil {
			return nil, fmt.Errorf("publish %s: %w", site, err)
		}
		if eid != id {
			return nil, fmt.Errorf("publish %s: release %s encodes as %s", site, id, eid)
		}
	}
	if start != nil {
		start(id, release.ServedFiles(m), len(s.Publisher.Nodes))
	}
	return s.Publisher.Send(ctx, site, m, id, encoded, opt)
}

// afterPublish is the one prune + GC rule, run after every publish and
// rollback: prune and collect when the last collection is older than
// GCEvery. Failures are logged: the publish itself is done.
func (s *Service) afterPublish() {
	if !s.gcDue() {
		return
	}
	if err := s.Collect(); err != nil {
		s.logger().Warn("garbage collection", "err", err)
	}
}

// gcStamp is the file, in the data dir, whose content says when the blobs
// were last collected.
const gcStamp = "gc-stamp"

// gcDue reports whether the last collection is older than GCEvery.
func (s *Service) gcDue() bool {
	every := s.GCEvery
	every = orchard.OrDefault(every, DefaultGCEvery)
	b, err := os.ReadFile(filepath.Join(s.dataDir(), gcStamp))
	if err != nil {
		return true
	}
	last, err := time.Parse(time.RFC3339Nano, string(trimNewline(b)))
	if err != nil {
		return true
	}
	return s.now().Sub(last) >= every
}

func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return b[:n-1]
	}
	return b
}

// Collect prunes every site's releases to Keep (never the active or the
// newest one) and removes the blobs no remaining release names (those
// younger than the blob store's Grace stay), then stamps the time so that
// the next publishes wait GCEvery before collecting again.
func (s *Service) Collect() error {
	if err := os.WriteFile(filepath.Join(s.dataDir(), gcStamp), []byte(s.now().UTC().Format(time.RFC3339Nano)+"\n"), 0o644); err != nil {
		return fmt.Errorf("garbage collection: %w", err)
	}
	if _, err := s.Releases.Collect(s.Keep); err != nil {
		return fmt.Errorf("garbage collection: %w", err)
	}
	return nil
}

// PreviousRelease returns the release listed right after (older than) the
// master's active release of site. It returns an EINVALID *orchard.Error
// when site has no active release or none older.
func (s *Service) PreviousRelease(site string) (string, error) {
	active, err := s.Releases.Active(site)
	if err != nil {
		return "", err
	}
	if active == "" {
		return "", orchard.Errorf(orchard.EINVALID, "%s has no published release to roll back from", site)
	}
	rels, err := s.Releases.Releases(site)
	if err != nil {
		return "", err
	}
	for i, r := range rels {
		if r.ID == active {
			if i+1 < len(rels) {
				return rels[i+1].ID, nil
			}
			break
		}
	}
	return "", orchard.Errorf(orchard.EINVALID, "%s has no release older than the active %s", site, active)
}

// Catalog is the master's release store seen as a publish.Catalog.
type Catalog struct{ Store *release.Store }

// Active returns the active release of every site that has one.
func (c Catalog) Active() (map[string]string, error) { return c.Store.ActiveAll() }

// ActiveVersion names the version of the active pointers (publish.Catalog).
func (c Catalog) ActiveVersion() string { return c.Store.ActiveVersion() }

// ActiveSince returns the pointers moved since version (publish.Catalog).
func (c Catalog) ActiveSince(version string) (map[string]string, bool) {
	return c.Store.ActiveSince(version)
}

// Manifest loads release id of site.
func (c Catalog) Manifest(site, id string) (*orchard.Manifest, error) {
	return c.Store.Manifest(site, id)
}

// SetActive records id as the master's active release of site.
func (c Catalog) SetActive(site, id string) error {
	_, err := c.Store.SetActive(site, id)
	if errors.Is(err, release.ErrBlobsMissing) {
		return fmt.Errorf("the master lacks blobs of %s/%s (rebuild it): %w", site, id, err)
	}
	return err
}
