package render_test

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/render"
)

// index returns c as orchard.Store.LoadSiteIndex would: bodies left out,
// digests set; and the bodies by path, as PageBodies gives them.
func index(c *orchard.SiteContent) (*orchard.SiteContent, map[string]orchard.PageBody) {
	out := *c
	out.Pages = slices.Clone(c.Pages)
	bodies := map[string]orchard.PageBody{}
	for i := range out.Pages {
		p := &out.Pages[i]
		p.Validate() // as the store wrote it
		p.Digest = p.ContentDigest()
		bodies[p.Path] = orchard.PageBody{Body: p.Body, Digest: p.Digest}
		p.Body = ""
	}
	return &out, bodies
}

// loader serves bodies like PageBodies, counting calls and paths.
type loader struct {
	mu     sync.Mutex
	bodies map[string]orchard.PageBody
	calls  int
	paths  []string
}

func (l *loader) load(_ context.Context, paths []string) (map[string]orchard.PageBody, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	l.paths = append(l.paths, paths...)
	out := map[string]orchard.PageBody{}
	for _, p := range paths {
		if b, ok := l.bodies[p]; ok {
			out[p] = b
		}
	}
	return out, nil
}

// TestNewLazy: a lazy renderer has the same outputs and inputs as New's and
// renders every output to the same bytes, fetching only the bodies needed.
func TestNewLazy(t *testing.T) {
	c := fixture(t)
	full := mustNew(t, c)
	idx, bodies := index(c)
	l := &loader{bodies: bodies}
	lazy, err := render.NewLazy(idx, l.load)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(full.Outputs(), lazy.Outputs(), func(a, b render.Output) bool {
		return a.Path == b.Path && a.ContentType == b.ContentType && slices.Equal(a.Deps, b.Deps)
	}) {
		t.Fatal("lazy outputs differ from New's")
	}
	if !maps.Equal(full.Inputs(), lazy.Inputs()) {
		t.Fatalf("lazy inputs differ from New's:\n got %v\nwant %v", lazy.Inputs(), full.Inputs())
	}
	if l.calls != 0 {
		t.Fatalf("NewLazy fetched bodies %d times", l.calls)
	}
	if err := lazy.Prepare(t.Context(), []string{"/news/hello/index.html", "/index.html", "/feed.xml", "/news/index.html", "/nope"}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(l.paths)
	if l.calls != 1 || !slices.Equal(l.paths, []string{"/", "/news/hello/"}) {
		t.Fatalf("Prepare fetched %v in %d calls, want [/ /news/hello/] in 1", l.paths, l.calls)
	}
	for _, o := range full.Outputs() {
		want, err := full.Render(o.Path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := lazy.Render(o.Path)
		if err != nil {
			t.Fatalf("lazy Render(%s): %v", o.Path, err)
		}
		if string(got) != string(want) {
			t.Errorf("lazy Render(%s) differs", o.Path)
		}
	}
	if err := lazy.Prepare(t.Context(), []string{"/news/hello/index.html"}); err != nil || l.calls == 0 {
		t.Fatal(err)
	}
}

// TestNewLazyChanged: a body whose page changed (or went) after the index
// was read is ECONFLICT, in Prepare and in Render alike, never rendered.
func TestNewLazyChanged(t *testing.T) {
	c := fixture(t)
	idx, bodies := index(c)
	edited := maps.Clone(bodies)
	edited["/news/hello/"] = orchard.PageBody{Body: "new text", Digest: "0000"}
	delete(edited, "/about/")
	for name, key := range map[string]string{"edited": "/news/hello/index.html", "removed": "/about/index.html"} {
		t.Run(name, func(t *testing.T) {
			l := &loader{bodies: edited}
			lazy, err := render.NewLazy(idx, l.load)
			if err != nil {
				t.Fatal(err)
			}
			if err := lazy.Prepare(t.Context(), []string{key}); orchard.ErrorCode(err) != orchard.ECONFLICT {
				t.Errorf("Prepare: %v, want ECONFLICT", err)
			}
			if b, err := lazy.Render(key); orchard.ErrorCode(err) != orchard.ECONFLICT {
				t.Errorf("Render: %q %v, want ECONFLICT", b, err)
			}
			// Outputs that need no body still render.
			if _, err := lazy.Render("/sitemap.xml"); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestNewLazyRefuses(t *testing.T) {
	c := fixture(t)
	if _, err := render.NewLazy(c, nil); orchard.ErrorCode(err) != orchard.EINVALID {
		t.Errorf("no loader: %v", err)
	}
	// Pages without digests are not an index.
	if _, err := render.NewLazy(c, (&loader{}).load); orchard.ErrorCode(err) != orchard.EINVALID {
		t.Errorf("no digests: %v", err)
	}
	idx, bodies := index(c)
	bodies["/about/"] = orchard.PageBody{Body: "\xff", Digest: bodies["/about/"].Digest}
	lazy, err := render.NewLazy(idx, (&loader{bodies: bodies}).load)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lazy.Render("/about/index.html"); orchard.ErrorCode(err) != orchard.EINVALID {
		t.Errorf("invalid UTF-8 body: %v", err)
	}
}
