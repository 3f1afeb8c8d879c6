package publish_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/orchardhq/orchard/publish"
)

// TestCatchUpReadsListOnlyWhenChanged: a node that caught up with every
// release asks for the master's list again only once it changed (the
// master answers "unchanged" otherwise), and after a round that failed it
// reads the whole list again.
func TestCatchUpReadsListOnlyWhenChanged(t *testing.T) {
	master, cat := newMemBlobs(), newMemCatalog()
	h := publish.NewMasterHandler(publish.MasterConfig{Secret: testSecret, Catalog: cat, Blobs: master})
	var full, deltas atomic.Int32 // answers to GET /_orchard/v1/releases with a list, with changes
	msrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/_orchard/v1/releases" {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var list publish.ActiveList
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err == nil {
			switch {
			case list.Delta:
				deltas.Add(1)
			case !list.Unchanged:
				full.Add(1)
			}
		}
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(msrv.Close)
	n := startNode(t, "node0", strings.TrimPrefix(msrv.URL, "http://"))
	ctx := context.Background()
	// lists counts the whole lists; a delta (the changes since the
	// version the node caught up with) counts as a tenth.
	lists := func() float64 { return float64(full.Load()) + float64(deltas.Load())/10 }
	var listedByLastRound int64 // the node's own listings of every site it serves
	catchUp := func(wantErr bool, wantLists float64, wantActive map[string]string) {
		t.Helper()
		before := n.state.listed.Load()
		err := n.node.CatchUp(ctx)
		listedByLastRound = n.state.listed.Load() - before
		if (err != nil) != wantErr {
			t.Fatalf("CatchUp: %v, want an error: %v", err, wantErr)
		}
		if got := lists(); got != wantLists {
			t.Errorf("the master listed its releases %v times (a tenth per list of changes), want %v", got, wantLists)
		}
		for site, id := range wantActive {
			if got := n.state.Releases()[site]; got != id {
				t.Errorf("%s active on the node: %q, want %q", site, got, id)
			}
		}
	}

	m1 := makeRelease(master, "a.test", 3, "v1")
	cat.add(m1)
	cat.SetActive("a.test", m1.ID())
	catchUp(false, 1, map[string]string{"a.test": m1.ID()})
	catchUp(false, 1, map[string]string{"a.test": m1.ID()}) // unchanged: no list
	catchUp(false, 1, nil)

	// A publish since: the node asks for the changes alone.
	m2 := makeRelease(master, "a.test", 3, "v2")
	cat.add(m2)
	cat.SetActive("a.test", m2.ID())
	catchUp(false, 1.1, map[string]string{"a.test": m2.ID()})
	if listedByLastRound != 0 {
		t.Errorf("a round of changes listed all the node's sites %d times, want it to look up the changed ones", listedByLastRound)
	}
	catchUp(false, 1.1, nil)

	// b.test's release is not in the catalog: the round fails, and the
	// next ones read the whole list again although it did not change.
	cat.SetActive("b.test", makeRelease(master, "b.test", 1, "v1").ID())
	catchUp(true, 1.2, map[string]string{"a.test": m2.ID()})
	catchUp(true, 2.2, nil)
	cat.SetActive("b.test", "")
	catchUp(false, 3.2, nil)
	catchUp(false, 3.2, nil)

	// A catalog that cannot tell the changes since the node's version
	// answers the whole list.
	m3 := makeRelease(master, "a.test", 3, "v3")
	cat.add(m3)
	cat.SetActive("a.test", m3.ID())
	cat.mu.Lock()
	cat.moves = nil
	cat.version = 100 // versions before are unknown to ActiveSince
	cat.mu.Unlock()
	catchUp(false, 4.2, map[string]string{"a.test": m3.ID()})
}

// TestCatchUpLeavesPublishInFlight: a release a publish staged on the node
// a moment ago, which the master already lists as active, is left to that
// publish by catch-up (no manifest fetched, nothing activated by it), and
// the round does not count as caught up.
func TestCatchUpLeavesPublishInFlight(t *testing.T) {
	master, cat := newMemBlobs(), newMemCatalog()
	var fetches atomic.Int32 // GET /_orchard/v1/releases/{site}
	h := publish.NewMasterHandler(publish.MasterConfig{Secret: testSecret, Catalog: cat, Blobs: master})
	msrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_orchard/v1/releases/") {
			fetches.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(msrv.Close)
	n := startNode(t, "node0", strings.TrimPrefix(msrv.URL, "http://"))
	p := newPublisher(master, cat, n)
	m := makeRelease(master, "a.test", 3, "v1")
	cat.add(m)
	ctx := context.Background()
	var during []string
	res, err := p.Publish(ctx, "a.test", m, func(e publish.Event) {
		if e.Phase != publish.PhaseStaged {
			return
		}
		cat.SetActive("a.test", m.ID()) // as the master does before activating
		if err := n.node.CatchUp(ctx); err != nil {
			t.Errorf("CatchUp while staged: %v", err)
		}
		during = append(during, n.state.Releases()["a.test"])
	})
	if err != nil || !res.OK() {
		t.Fatalf("Publish: %v %+v", err, res)
	}
	if len(during) != 1 || during[0] != "" || fetches.Load() != 0 {
		t.Errorf("catch-up during the publish: active %q, %d manifests fetched; want nothing done", during, fetches.Load())
	}
	if got := n.state.Releases()["a.test"]; got != m.ID() {
		t.Errorf("after the publish: active %q, want %q", got, m.ID())
	}
	if err := n.node.CatchUp(ctx); err != nil || fetches.Load() != 0 {
		t.Errorf("CatchUp after the publish: %v, %d manifests fetched", err, fetches.Load())
	}
}
