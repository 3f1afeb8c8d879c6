package master

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orchardhq/orchard/internal/promtest"
	"github.com/orchardhq/orchard/publish"
)

// TestRecordPublish records publishes of every outcome, some concurrently,
// and reads them back through the collector.
func TestRecordPublish(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1.7e9, 0)
	ok := &publish.Result{Site: "a.test", Release: "r1", Duration: 300 * time.Millisecond, Nodes: []publish.NodeResult{
		{Name: "n1", State: publish.PhaseActivated}, {Name: "n2", State: publish.PhaseDown}}}
	bad := &publish.Result{Site: "a.test", Release: "r2", Duration: 45 * time.Second, Nodes: []publish.NodeResult{
		{Name: "n1", State: publish.PhaseFailed, Err: errors.New("507")}, {Name: "n2", State: publish.PhaseStaged}}}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if err := recordPublish(dir, "a.test", ok, nil, now); err != nil {
				t.Error(err)
			}
			if i == 0 {
				if err := recordPublish(dir, "b.test", nil, errors.New("no route"), now); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := recordPublish(dir, "a.test", bad, errors.New("did not activate"), now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	c := NewStatsCollector(dir, nil)
	body := promtest.Scrape(t, c)
	for _, w := range []string{
		`orchard_publish_total{result="ok",site="a.test"} 8`,
		`orchard_publish_total{result="failed",site="a.test"} 1`,
		`orchard_publish_total{result="failed",site="b.test"} 1`,
		`orchard_publish_failed_total 2`,
		`orchard_publish_node_results_total{node="n1",state="activated"} 8`,
		`orchard_publish_node_results_total{node="n1",state="failed"} 1`,
		`orchard_publish_node_results_total{node="n2",state="down"} 8`,
		`orchard_publish_duration_seconds_bucket{le="0.5"} 9`, // 8 ok + b.test's (0 s)
		`orchard_publish_duration_seconds_bucket{le="60"} 10`,
		`orchard_publish_duration_seconds_count 10`,
		`orchard_publish_last_success{site="a.test"} 0`,
		`orchard_publish_last_duration_seconds{site="a.test"} 45`,
		`orchard_publish_last_timestamp_seconds{site="a.test"} 1.70000006e+09`,
		`orchard_publish_last_node_state{node="n2",site="a.test",state="staged"} 1`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("metrics lack %q:\n%s", w, body)
		}
	}
	if strings.Contains(body, `orchard_publish_last_node_state{node="n1",site="a.test",state="activated"}`) {
		t.Errorf("last node state kept from an older publish:\n%s", promtest.GrepLines(body, "last_node_state"))
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*.tmp*")); len(matches) > 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

// TestPublishStatsDamaged: a damaged, wrong-shaped or oversized file reads
// as empty (the collector still answers) and the next publish starts it
// again.
func TestPublishStatsDamaged(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"garbage", []byte("{not json")},
		{"truncated", []byte(`{"sites":{"a.test":{"ok":3`)},
		{"null site", []byte(`{"sites":{"a.test":null}}`)},
		{"buckets", []byte(`{"buckets":[1,2,3]}`)},
		{"oversized", []byte(`{"sites":{}}` + strings.Repeat(" ", maxPublishMetricsBytes))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, publishMetricsFile), tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := readPublishStats(filepath.Join(dir, publishMetricsFile)); err == nil {
				t.Error("damaged file read without error")
			}
			if body := promtest.Scrape(t, NewStatsCollector(dir, nil)); !strings.Contains(body, "orchard_publish_failed_total 0") {
				t.Errorf("collector on a damaged file:\n%s", body)
			}
			if err := recordPublish(dir, "a.test", nil, errors.New("refused"), time.Now()); err != nil {
				t.Fatal(err)
			}
			st, err := readPublishStats(filepath.Join(dir, publishMetricsFile))
			if err != nil || st.Sites["a.test"] == nil || st.Sites["a.test"].Failed != 1 {
				t.Errorf("after a publish: %+v, %v", st, err)
			}
		})
	}
}

// FuzzParsePublishStats: any file content either parses into stats the
// collector can report, or is refused; never a panic.
func FuzzParsePublishStats(f *testing.F) {
	f.Add([]byte(`{"sites":{"a.test":{"ok":1,"failed":2,"last":"2026-01-01T00:00:00Z","last_ok":true,"last_seconds":1.5,"states":{"n1":"activated"}}},"nodes":{"n1":{"activated":1}},"buckets":[0,0,0,0,0,1,0,0,0,0,0,0],"count":1,"sum_seconds":1.5}`))
	f.Add([]byte(`{"sites":{"\xff":{}},"nodes":{"n":null}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st := &publishStats{}
		if err := parsePublishStats(b, st); err != nil {
			return
		}
		st.fill()
		st.add("a.test", &publish.Result{Nodes: []publish.NodeResult{{Name: "n", State: "activated"}}}, nil, time.Now())
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, publishMetricsFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		promtest.Scrape(t, NewStatsCollector(dir, nil))
	})
}

// snapshot reads every file under dir (path -> content).
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRecordPublish_BytesIndependentOfSites: after publishes of 100 or
// 1,000 sites, one more publish writes the same bytes (files new or
// changed), and the master's /metrics holds per-site series of the sites
// published last only. Before, every publish rewrote a file of every
// site: 10x the sites, 10x the bytes.
func TestRecordPublish_BytesIndependentOfSites(t *testing.T) {
	res := &publish.Result{Release: "r1", Duration: time.Second, Nodes: []publish.NodeResult{
		{Name: "n1", State: publish.PhaseActivated}, {Name: "n2", State: publish.PhaseActivated}}}
	now := time.Unix(1.7e9, 0)
	written := map[int]int{}
	for _, sites := range []int{100, 1000} {
		dir := t.TempDir()
		for i := range sites {
			if err := recordPublish(dir, fmt.Sprintf("s%05d.test", i), res, nil, now.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		before := snapshot(t, dir)
		if err := recordPublish(dir, "new.test", res, nil, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for p, data := range snapshot(t, dir) {
			if before[p] != data {
				written[sites] += len(data)
			}
		}
		t.Logf("%d sites: one publish writes %d bytes", sites, written[sites])
		body := promtest.Scrape(t, NewStatsCollector(dir, nil))
		if got := strings.Count(body, `orchard_publish_total{result="ok"`); got != recentPublishSites {
			t.Errorf("%d sites: /metrics has %d per-site publish counters, want %d", sites, got, recentPublishSites)
		}
		if !strings.Contains(body, fmt.Sprintf("orchard_publish_duration_seconds_count %d", sites+1)) {
			t.Errorf("%d sites: the publish total is not %d:\n%s", sites, sites+1, promtest.GrepLines(body, "duration_seconds_count"))
		}
	}
	if written[1000] > written[100]*11/10 {
		t.Fatalf("one publish writes %d bytes after 1,000 sites, %d after 100: want the same", written[1000], written[100])
	}
}

// TestRecordPublish_SiteComesBack: a site's counts survive its leaving
// the recent sites and go on when it is published again.
func TestRecordPublish_SiteComesBack(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1.7e9, 0)
	ok := &publish.Result{Release: "r1", Duration: time.Second}
	for i := range 3 {
		if err := recordPublish(dir, "back.test", ok, nil, now.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range recentPublishSites {
		if err := recordPublish(dir, fmt.Sprintf("s%02d.test", i), ok, nil, now.Add(time.Minute+time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if body := promtest.Scrape(t, NewStatsCollector(dir, nil)); strings.Contains(body, `site="back.test"`) {
		t.Fatalf("a site published before %d others is still in /metrics", recentPublishSites)
	}
	if err := recordPublish(dir, "back.test", ok, nil, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if body := promtest.Scrape(t, NewStatsCollector(dir, nil)); !strings.Contains(body, `orchard_publish_total{result="ok",site="back.test"} 4`) {
		t.Fatalf("back.test's count did not go on from 3:\n%s", promtest.GrepLines(body, "back.test"))
	}
}
