package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sort"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/orchardhq/orchard"
)

// ActiveList is the master's answer to GET /_orchard/v1/releases: the
// release every site should have active, and the version of that list.
// Asked with ?since=VERSION while the list is still that version, the
// master answers Unchanged and no list: every node asks every few seconds,
// and with 10,000 sites the list is some 400 KB to encode, sign, send and
// decode each time. Asked since a version its catalog can tell the changes
// from, it answers only the sites whose release changed since (Delta):
// after a publish, each node read the whole list again.
type ActiveList struct {
	Releases  map[string]string `json:"releases,omitempty"`
	Version   string            `json:"version,omitempty"`
	Unchanged bool              `json:"unchanged,omitempty"`
	Delta     bool              `json:"delta,omitempty"`
}

// ActiveRelease is the master's answer to GET /_orchard/v1/releases/{site}.
type ActiveRelease struct {
	ID       string          `json:"id"`
	Manifest json.RawMessage `json:"manifest"`
}

// CatchUp asks the master once for the active release of every site and
// pulls and activates each one this node lacks, through the same checks as
// a publish (manifest validated, every blob verified, activation only when
// complete). It returns the first error; other sites are still tried.
// After a round that caught up every site, the next asks for the list
// only if it changed since.
func (n *Node) CatchUp(ctx context.Context) error {
	c := newClient(n.cfg.Master, MasterTarget, n.cfg.Secret, n.cfg.Client)
	path := "/_orchard/v1/releases"
	n.syncMu.Lock()
	since := n.caughtUp
	n.caughtUp = ""
	n.syncMu.Unlock()
	if since != "" {
		path += "?since=" + url.QueryEscape(since)
	}
	var list ActiveList
	if err := c.doJSON(ctx, "GET", path, nil, &list, 16<<20); err != nil {
		return fmt.Errorf("ask master for releases: %w", err)
	}
	if list.Unchanged && since != "" {
		n.setCaughtUp(since)
		return nil
	}
	if list.Delta && since == "" {
		return fmt.Errorf("ask master for releases: %w: changes since no version", ErrInvalid)
	}
	have := n.haveOf(list)
	sites := make([]string, 0, len(list.Releases))
	for s := range list.Releases {
		sites = append(sites, s)
	}
	sort.Strings(sites)
	var first error
	inFlight := false
	now := time.Now()
	for _, site := range sites {
		id := list.Releases[site]
		if have[site] == id || id == "" {
			continue
		}
		if n.stagedSince(site, id, now.Add(-publishInFlight)) {
			// The master records a release as active while it asks the
			// nodes to activate it: that publish will, or the next round.
			inFlight = true
			continue
		}
		if err := n.catchUpSite(ctx, c, site, id, have[site]); err != nil {
			n.log.Warn("catch-up of a site failed", "site", site, "release", id, "err", err)
			if first == nil {
				first = fmt.Errorf("catch up %s to %s: %w", site, id, err)
			}
		}
	}
	if first == nil && !inFlight {
		n.setCaughtUp(list.Version)
	}
	return first
}

// haveOf returns the release this node has active of each site list
// names (none: not in the map). For a list of changes it asks for those
// sites alone: after each publish every node's next round gets one, and
// listing all 10,000 sites of a node for it made 1.6 MB of garbage.
func (n *Node) haveOf(list ActiveList) map[string]string {
	if !list.Delta {
		return n.cfg.State.Releases()
	}
	have := make(map[string]string, len(list.Releases))
	for site := range list.Releases {
		if id, _, ok := n.cfg.State.ActiveCreated(site); ok {
			have[site] = id
		}
	}
	return have
}

// publishInFlight is how long after a release was staged here by a
// publish catch-up leaves its activation to that publish.
const publishInFlight = 30 * time.Second

// stagedSince reports whether release id of site was staged here after t.
func (n *Node) stagedSince(site, id string, t time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	st := n.staged[site][id]
	return st != nil && st.when.After(t)
}

// setCaughtUp records the version of the master's list this node has
// every release of ("" for none: the next round reads the whole list).
func (n *Node) setCaughtUp(version string) {
	n.syncMu.Lock()
	n.caughtUp = version
	n.syncMu.Unlock()
}

func (n *Node) catchUpSite(ctx context.Context, c *client, site, id, prev string) error {
	if _, err := orchard.NormalizeHost(site); err != nil || !orchard.ValidReleaseID(id) {
		return fmt.Errorf("%w: master named site %q release %q", ErrInvalid, site, id)
	}
	var ar ActiveRelease
	if err := c.doJSON(ctx, "GET", "/_orchard/v1/releases/"+url.PathEscape(site), nil, &ar, n.cfg.MaxManifestBytes); err != nil {
		return fmt.Errorf("fetch manifest: %w", err)
	}
	m, err := decodeManifest(ar.Manifest, site)
	if err != nil {
		return err
	}
	if got := m.ID(); got != ar.ID {
		return fmt.Errorf("%w: manifest has id %s, master says %s", ErrInvalid, got, ar.ID)
	}
	if ar.ID != id { // published again meanwhile: take the newer one
		id = ar.ID
	}
	missing := n.missing(m)
	n.log.Info("catching up", "site", site, "release", id, "missing", len(missing))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(n.cfg.Fetchers)
	for _, sha := range missing {
		g.Go(func() error { return n.fetchBlob(gctx, c, sha) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	n.stage(m, id, nil)
	if _, err := n.activate(site, id, activation{catchUp: true, prev: prev}); err != nil {
		return err
	}
	n.log.Info("caught up", "site", site, "release", id)
	return nil
}

// fetchBlob pulls one blob from the master; the store keeps it only when its
// content hashes to its name.
func (n *Node) fetchBlob(ctx context.Context, c *client, sha string) error {
	resp, _, err := c.do(ctx, "GET", "/_orchard/v1/blobs/"+sha, nil, "")
	if err != nil {
		return fmt.Errorf("fetch blob %s: %w", sha, err)
	}
	defer resp.Body.Close()
	if err := n.putBlob(sha, io.LimitReader(resp.Body, n.cfg.MaxBlobBytes+1)); err != nil {
		return fmt.Errorf("store blob %s: %w", sha, err)
	}
	return nil
}
