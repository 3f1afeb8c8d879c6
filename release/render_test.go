package release_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/release"
	"github.com/orchardhq/orchard/render"
)

// renderer adapts *render.Renderer to release.Renderer, as cmd/orchard does.
type renderer struct{ r *render.Renderer }

func (a renderer) Outputs() []release.Output {
	outs := a.r.Outputs()
	res := make([]release.Output, len(outs))
	for i, o := range outs {
		res[i] = release.Output{Path: o.Path, ContentType: o.ContentType, Deps: o.Deps}
	}
	return res
}
func (a renderer) Render(p string) ([]byte, error) { return a.r.Render(p) }
func (a renderer) Inputs() map[string]string       { return a.r.Inputs() }

func newRenderer(t *testing.T, c *orchard.SiteContent) renderer {
	t.Helper()
	r, err := render.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return renderer{r}
}

// TestBuild_AgreesWithRender: every file of a built release is
// byte-for-byte what the renderer (the master's dynamic handler) serves.
func TestBuild_AgreesWithRender(t *testing.T) {
	for _, c := range sample.Sites() {
		t.Run(c.Site.Host, func(t *testing.T) {
			st := mustOpenStore(t)
			r := newRenderer(t, c)
			res, err := (&release.Builder{Store: st}).Build(context.Background(), &c.Site, r)
			if err != nil {
				t.Fatal(err)
			}
			outs := r.Outputs()
			if len(outs) == 0 || len(res.Manifest.Files) != len(outs)+1 {
				t.Fatalf("%d outputs, %d manifest files", len(outs), len(res.Manifest.Files))
			}
			for _, o := range outs {
				want, err := r.Render(o.Path)
				if err != nil {
					t.Fatal(err)
				}
				e := res.Manifest.Files[orchard.ManifestKey(o.Path)]
				got, err := st.Blobs().Get(e.SHA256)
				if err != nil || !bytes.Equal(got, want) || e.ContentType != o.ContentType {
					t.Fatalf("%s: release has %d bytes (%s), render gives %d (%s); err %v", o.Path, len(got), e.ContentType, len(want), o.ContentType, err)
				}
			}
		})
	}
}

// TestBuild_RenderIncrementalEqualsFull edits a sample site at random
// (pages, categories' titles, templates, site settings) and checks that
// each incremental build is byte-identical to a full build.
func TestBuild_RenderIncrementalEqualsFull(t *testing.T) {
	c := sample.Sites()[0]
	st := mustOpenStore(t)
	rng := rand.New(rand.NewPCG(3, 4))
	inc := &release.Builder{Store: st}
	for step := 0; step < 15; step++ {
		switch rng.IntN(5) {
		case 0:
			i := rng.IntN(len(c.Pages))
			c.Pages[i].Body += fmt.Sprintf("\n\nEdit %d.", step)
		case 1:
			i := rng.IntN(len(c.Pages))
			c.Pages[i].Title = fmt.Sprintf("Retitled %d", step)
		case 2:
			if len(c.Categories) > 0 {
				i := rng.IntN(len(c.Categories))
				c.Categories[i].Title = fmt.Sprintf("Category %d", step)
			}
		case 3:
			c.Site.Title = fmt.Sprintf("Site %d", step)
		case 4:
			i := rng.IntN(len(c.Pages))
			c.Pages[i].Published = !c.Pages[i].Published
		}
		got, err := inc.Build(context.Background(), &c.Site, newRenderer(t, c))
		if err != nil {
			t.Fatal(err)
		}
		want, err := (&release.Builder{Store: mustOpenStore(t), Full: true}).Build(context.Background(), &c.Site, newRenderer(t, c))
		if err != nil {
			t.Fatal(err)
		}
		if got.Release.ID != want.Release.ID {
			for k, we := range want.Manifest.Files {
				if got.Manifest.Files[k] != we {
					t.Errorf("step %d: %s differs", step, k)
				}
			}
			t.Fatalf("step %d: incremental %s != full %s (rendered %d, reused %d)", step, got.Release.ID, want.Release.ID, got.Rendered, got.Reused)
		}
	}
}
