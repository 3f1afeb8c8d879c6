package master

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/publish"
)

// publishMetricsFile, in the master's data dir, holds what every publish
// did, whether `orchard publish` or the admin UI (inside the master) ran it:
// counts per node, a duration histogram, and the counts and last result of
// the recentPublishSites sites published last. Each publish rewrites it
// atomically (temporary file, rename) under an exclusive lock on
// publishMetricsLock; the master's /metrics reads it on each scrape, so
// counts survive restarts of the master. Its size is bounded by the
// number of nodes and recentPublishSites (about 300 bytes a site), not by
// the number of sites: a site that leaves the recent ones has its record
// written to publishSitesDir/HOST.json, read back when it is published
// again. So a publish reads and writes a few kilobytes whatever the
// number of sites (it was 220 KB at 1,000 sites, every site in the file).
const (
	publishMetricsFile = "publish-metrics.json"
	publishMetricsLock = "publish-metrics.lock"
	publishSitesDir    = "publish-sites"
	// recentPublishSites is how many sites, the last published, the file
	// and the master's /metrics hold per-site records of.
	recentPublishSites = 20
	// maxPublishMetricsBytes bounds what a scrape reads; a larger file is
	// treated as damaged.
	maxPublishMetricsBytes = 8 << 20
)

// publishBuckets are the upper bounds, in seconds, of the publish duration
// histogram.
var publishBuckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// publishStats is the content of publishMetricsFile.
type publishStats struct {
	Sites map[string]*publishSiteStats `json:"sites"`
	// Nodes counts node results by node name, then state (PhaseActivated,
	// PhaseDown, PhaseFailed, PhaseStaged).
	Nodes map[string]map[string]uint64 `json:"nodes"`
	// Buckets[i] counts publishes that took at most publishBuckets[i]
	// (not cumulative; one more for longer ones).
	Buckets     []uint64 `json:"buckets"`
	Count       uint64   `json:"count"`
	SumSeconds  float64  `json:"sum_seconds"`
	FailedTotal uint64   `json:"failed"`
}

// publishSiteStats is what the publishes of one site did.
type publishSiteStats struct {
	OK       uint64            `json:"ok"`     // activated on every node that is up
	Failed   uint64            `json:"failed"` // an error, or a node that is up did not activate
	Last     time.Time         `json:"last"`
	LastOK   bool              `json:"last_ok"`
	LastSecs float64           `json:"last_seconds"`
	Release  string            `json:"release,omitempty"`
	States   map[string]string `json:"states,omitempty"` // node -> state of the last publish
}

// publishRecord is one publish to count: site, its result (nil when it
// failed before reaching any node), its error and when it ended.
type publishRecord struct {
	site string
	res  *publish.Result
	err  error
	at   time.Time
}

// recordPublish adds one publish of site (res may be nil when it failed
// before reaching any node) to dataDir's publishMetricsFile.
func recordPublish(dataDir, site string, res *publish.Result, perr error, now time.Time) error {
	return recordPublishes(dataDir, []publishRecord{{site: site, res: res, err: perr, at: now}})
}

// recordPublishes adds publishes to dataDir's publishMetricsFile, in the
// order given, reading and writing the file once for all of them (a
// publish of every site records them a few hundred at a time).
func recordPublishes(dataDir string, recs []publishRecord) error {
	if dataDir == "" || len(recs) == 0 {
		return nil
	}
	lock, err := os.OpenFile(filepath.Join(dataDir, publishMetricsLock), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it too

	path := filepath.Join(dataDir, publishMetricsFile)
	st, _ := readPublishStats(path) // a damaged file starts again
	for _, r := range recs {
		if r.site == "" {
			continue
		}
		if st.Sites[r.site] == nil {
			// Back from the older sites: its counts go on from its own file.
			if s, err := readSiteStats(dataDir, r.site); err == nil && s != nil {
				st.Sites[r.site] = s
			}
		}
		st.add(r.site, r.res, r.err, r.at)
	}
	// Only the recent sites stay; the others keep their records in files
	// of their own (written once, when they leave; a file an older
	// version left with every site is split up here, once).
	for _, old := range st.oldSites(recentPublishSites) {
		if err := writeSiteStats(dataDir, old, st.Sites[old]); err != nil {
			return err
		}
		delete(st.Sites, old)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeReplace(dataDir, path, b)
}

// writeReplace writes b to path through a temporary file in dir, renamed
// into place: a reader sees the old content or the new, never a mix.
func writeReplace(dir, path string, b []byte) error {
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// oldSites returns the sites of st beyond the keep published last (by
// the end of their last publish, then name), to be moved out of the file.
func (st *publishStats) oldSites(keep int) []string {
	if len(st.Sites) <= keep {
		return nil
	}
	names := make([]string, 0, len(st.Sites))
	for name := range st.Sites {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := st.Sites[names[i]], st.Sites[names[j]]
		if !a.Last.Equal(b.Last) {
			return a.Last.After(b.Last)
		}
		return names[i] < names[j]
	})
	return names[keep:]
}

// siteStatsPath is the file of site's record in publishSitesDir; ok is
// false for a name that is not a canonical host (never joined onto a path).
func siteStatsPath(dataDir, site string) (string, bool) {
	if h, err := orchard.NormalizeHost(site); err != nil || h != site {
		return "", false
	}
	return filepath.Join(dataDir, publishSitesDir, site+".json"), true
}

// readSiteStats reads the record of site kept in its own file; nil when
// there is none.
func readSiteStats(dataDir, site string) (*publishSiteStats, error) {
	p, ok := siteStatsPath(dataDir, site)
	if !ok {
		return nil, nil
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	s := &publishSiteStats{}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return s, nil
}

// writeSiteStats keeps the record of a site that leaves the recent ones in
// its own file; a site whose name is not a host is dropped.
func writeSiteStats(dataDir, site string, s *publishSiteStats) error {
	p, ok := siteStatsPath(dataDir, site)
	if !ok {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return writeReplace(dir, p, b)
}

// add counts one publish.
func (st *publishStats) add(site string, res *publish.Result, perr error, now time.Time) {
	ok := perr == nil && res != nil && res.OK()
	var secs float64
	if res != nil {
		secs = res.Duration.Seconds()
	}
	s := st.Sites[site]
	if s == nil {
		s = &publishSiteStats{}
		st.Sites[site] = s
	}
	if ok {
		s.OK++
	} else {
		s.Failed++
		st.FailedTotal++
	}
	s.Last, s.LastOK, s.LastSecs, s.Release, s.States = now.UTC(), ok, secs, "", nil
	if res != nil {
		s.Release = res.Release
		s.States = make(map[string]string, len(res.Nodes))
		for _, n := range res.Nodes {
			s.States[n.Name] = n.State
			if st.Nodes[n.Name] == nil {
				st.Nodes[n.Name] = map[string]uint64{}
			}
			st.Nodes[n.Name][n.State]++
		}
	}
	i := sort.SearchFloat64s(publishBuckets, secs)
	st.Buckets[i]++
	st.Count++
	st.SumSeconds += secs
}

// readPublishStats reads a publishMetricsFile; a missing file is empty, a
// damaged or oversized one is empty with an error.
func readPublishStats(path string) (*publishStats, error) {
	st := &publishStats{}
	err := func() error {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxPublishMetricsBytes+1))
		if err != nil {
			return err
		}
		return parsePublishStats(b, st)
	}()
	if err != nil {
		st = &publishStats{}
	}
	st.fill()
	return st, err
}

// parsePublishStats decodes b into st and checks it.
func parsePublishStats(b []byte, st *publishStats) error {
	if len(b) > maxPublishMetricsBytes {
		return fmt.Errorf("%s is larger than %d bytes", publishMetricsFile, maxPublishMetricsBytes)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return fmt.Errorf("%s: %w", publishMetricsFile, err)
	}
	if st.Buckets != nil && len(st.Buckets) != len(publishBuckets)+1 {
		return fmt.Errorf("%s: %d buckets, want %d", publishMetricsFile, len(st.Buckets), len(publishBuckets)+1)
	}
	for name, s := range st.Sites {
		if s == nil {
			return fmt.Errorf("%s: site %q is null", publishMetricsFile, name)
		}
	}
	return nil
}

// fill makes the maps and buckets of an empty or partial record.
func (st *publishStats) fill() {
	if st.Sites == nil {
		st.Sites = map[string]*publishSiteStats{}
	}
	if st.Nodes == nil {
		st.Nodes = map[string]map[string]uint64{}
	}
	if st.Buckets == nil {
		st.Buckets = make([]uint64, len(publishBuckets)+1)
	}
}

// publishCollector reports dataDir's publishMetricsFile on each scrape.
type publishCollector struct {
	dataDir string
	logger  *slog.Logger
}

// NewStatsCollector returns the collector of the publish statistics a
// Service with this DataDir records: read from the file on each scrape, so
// that publishes by any process (orchard publish, the admin UI) count.
func NewStatsCollector(dataDir string, logger *slog.Logger) prometheus.Collector {
	return publishCollector{dataDir: dataDir, logger: logger}
}

var (
	descPublishes = prometheus.NewDesc("orchard_publish_total", "Publishes per site, by result (ok: activated on every node that is up); the 20 sites published last.",
		[]string{"site", "result"}, nil)
	descPublishFailed = prometheus.NewDesc("orchard_publish_failed_total", "Publishes that failed, all sites.", nil, nil)
	descPublishNodes  = prometheus.NewDesc("orchard_publish_node_results_total", "Node results of publishes, by node and state.",
		[]string{"node", "state"}, nil)
	descPublishDuration = prometheus.NewDesc("orchard_publish_duration_seconds", "Time a publish took, all sites.", nil, nil)
	descPublishLastSecs = prometheus.NewDesc("orchard_publish_last_duration_seconds", "Time the last publish of a site took.",
		[]string{"site"}, nil)
	descPublishLastTime = prometheus.NewDesc("orchard_publish_last_timestamp_seconds", "When the last publish of a site ended (Unix time).",
		[]string{"site"}, nil)
	descPublishLastOK = prometheus.NewDesc("orchard_publish_last_success", "1 when the last publish of a site activated on every node that is up.",
		[]string{"site"}, nil)
	descPublishLastState = prometheus.NewDesc("orchard_publish_last_node_state", "1 for each node's state in the last publish of a site.",
		[]string{"site", "node", "state"}, nil)
)

func (c publishCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPublishes, descPublishFailed, descPublishNodes, descPublishDuration,
		descPublishLastSecs, descPublishLastTime, descPublishLastOK, descPublishLastState} {
		ch <- d
	}
}

func (c publishCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := readPublishStats(filepath.Join(c.dataDir, publishMetricsFile))
	if err != nil && c.logger != nil {
		c.logger.Warn("read publish metrics", "err", err)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter(descPublishFailed, st.FailedTotal)
	buckets := make(map[float64]uint64, len(publishBuckets))
	var cum uint64
	for i, b := range publishBuckets {
		cum += st.Buckets[i]
		buckets[b] = cum
	}
	ch <- prometheus.MustNewConstHistogram(descPublishDuration, st.Count, st.SumSeconds, buckets)
	for node, states := range st.Nodes {
		for state, n := range states {
			counter(descPublishNodes, n, node, state)
		}
	}
	for site, s := range st.Sites {
		counter(descPublishes, s.OK, site, "ok")
		counter(descPublishes, s.Failed, site, "failed")
		gauge(descPublishLastSecs, s.LastSecs, site)
		gauge(descPublishLastTime, float64(s.Last.Unix()), site)
		ok := 0.0
		if s.LastOK {
			ok = 1
		}
		gauge(descPublishLastOK, ok, site)
		for node, state := range s.States {
			gauge(descPublishLastState, 1, site, node, state)
		}
	}
}
