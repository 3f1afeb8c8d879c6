package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/publish"
	"github.com/orchardhq/orchard/release"
)

// onePage renders a site of one page.
type onePage string

func (p onePage) Outputs() []release.Output {
	return []release.Output{{Path: "/", ContentType: "text/html; charset=utf-8", Deps: []string{"p"}}}
}
func (p onePage) Render(string) ([]byte, error) { return []byte(p), nil }
func (p onePage) Inputs() map[string]string     { return map[string]string{"p": string(p)} }

// TestWebNode_StagedMetric stages a release on a node wired as `orchard
// node` wires it, through the signed publish API, and reads
// orchard_node_staged_releases from its /metrics: 1 while the release is
// staged, 0 once a publish has activated it.
func TestWebNode_StagedMetric(t *testing.T) {
	ctx := context.Background()
	cfg, ncfg := clusterWithNode(t)
	wn, err := openWebNode(ctx, cfg, ncfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wn.Close() })
	ctl := wn.nd.ControlAddr()

	master, err := release.OpenStore(cfg.Master.Data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	res, err := (&release.Builder{Store: master}).Build(ctx, &orchard.Site{Host: "a.test"}, onePage("<p>hello</p>"))
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest

	// Phase one only: the node keeps the manifest and lacks every blob.
	body, id, err := release.EncodeManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", "http://"+ctl+"/_orchard/v1/releases/a.test", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", release.ManifestContentType)
	publish.Sign(req, cfg.Secret, "node0", body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stage %s: status %d, want 200", id, resp.StatusCode)
	}
	wantStaged(t, ctl, 1)

	p := &publish.Publisher{Secret: cfg.Secret, Blobs: master.Blobs(),
		Nodes: []publish.Target{{Name: "node0", ControlAddr: ctl}}}
	if r, err := p.Publish(ctx, "a.test", m, nil); err != nil || !r.OK() {
		t.Fatalf("publish: %v, %+v", err, r)
	}
	if got := wn.nd.Releases()["a.test"]; got != id {
		t.Fatalf("active release %q, want %q", got, id)
	}
	wantStaged(t, ctl, 0)
}

// clusterWithNode loads testCluster's file with a node0 on loopback ports
// added.
func clusterWithNode(t *testing.T) (*config.Config, *config.Node) {
	t.Helper()
	path := testCluster(t)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("[[node]]\nname = \"node0\"\nlisten = \"127.0.0.1:0\"\ncontrol = \"127.0.0.1:0\"\ndata = \"node0\"\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	cfg, lerr := config.Load(path)
	if err = errors.Join(err, lerr); err != nil {
		t.Fatal(err)
	}
	ncfg, err := cfg.Node("node0")
	if err != nil {
		t.Fatal(err)
	}
	return cfg, ncfg
}

// wantStaged fails the test unless the node's /metrics at ctl reports n
// staged releases.
func wantStaged(t *testing.T, ctl string, n int) {
	t.Helper()
	want := fmt.Sprintf("\norchard_node_staged_releases %d\n", n)
	if body := getMetrics(t, ctl); !strings.Contains(body, want) {
		got := "no such metric"
		if i := strings.Index(body, "\norchard_node_staged_releases "); i >= 0 {
			got, _, _ = strings.Cut(body[i+1:], "\n")
		}
		t.Fatalf("/metrics: %s, want %s", got, strings.TrimSpace(want))
	}
}
