package release_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

func mustOpenStore(tb testing.TB) *release.Store {
	tb.Helper()
	s, err := release.OpenStore(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

var testSite = &orchard.Site{Host: "example.test", Aliases: []string{"www.example.test"}, CacheControl: "public, max-age=60"}

func TestBuild_OK(t *testing.T) {
	st := mustOpenStore(t)
	f := newFakeSite(20)
	b := &release.Builder{Store: st}
	res, err := b.Build(context.Background(), testSite, f)
	if err != nil {
		t.Fatal(err)
	}
	if !res.New || res.Rendered != 24 || res.Reused != 0 {
		t.Fatalf("first build: new=%v rendered=%d reused=%d, want true 24 0", res.New, res.Rendered, res.Reused)
	}
	m := res.Manifest
	if got, want := len(m.Files), 25; got != want {
		t.Fatalf("manifest has %d files, want %d (24 outputs + settings)", got, want)
	}
	for _, k := range []string{"/news/p3/index.html", "/news/index.html", "/sitemap.xml", "/404.html", "/theme/style.css", release.SettingsKey} {
		e, ok := m.Files[k]
		if !ok {
			t.Fatalf("manifest lacks %s", k)
		}
		data, err := st.Blobs().Get(e.SHA256)
		if err != nil || int64(len(data)) != e.Size {
			t.Fatalf("blob of %s: %d bytes, %v; want %d", k, len(data), err, e.Size)
		}
	}
	if e := m.Files["/news/p3/index.html"]; e.Gzip == "" || e.GzipSize >= e.Size {
		t.Fatalf("page has no useful gzip variant: %+v", e)
	}
	if missing := st.Blobs().Missing(m); len(missing) != 0 {
		t.Fatalf("missing blobs after build: %v", missing)
	}
	rels, err := st.Releases(testSite.Host)
	if err != nil || len(rels) != 1 || rels[0].ID != m.ID() || rels[0].Files != 24 {
		t.Fatalf("Releases = %+v, %v", rels, err)
	}

	// Unchanged content: same release, nothing rendered.
	n := f.renders.Load()
	res2, err := b.Build(context.Background(), testSite, f)
	if err != nil {
		t.Fatal(err)
	}
	if res2.New || res2.Release.ID != res.Release.ID || f.renders.Load() != n {
		t.Fatalf("rebuild: new=%v id=%s (want %s), rendered %d", res2.New, res2.Release.ID, res.Release.ID, f.renders.Load()-n)
	}
}

func TestBuild_Incremental(t *testing.T) {
	st := mustOpenStore(t)
	f := newFakeSite(50)
	b := &release.Builder{Store: st}
	first, err := b.Build(context.Background(), testSite, f)
	if err != nil {
		t.Fatal(err)
	}
	f.inputs["page:/news/p7/"] = "edited"
	res, err := b.Build(context.Background(), testSite, f)
	if err != nil {
		t.Fatal(err)
	}
	// The page, the listing and the sitemap.
	if res.Rendered != 3 || !res.New || res.Manifest.Parent != first.Release.ID {
		t.Fatalf("page edit: rendered %d new=%v parent=%s; want 3 true %s", res.Rendered, res.New, res.Manifest.Parent, first.Release.ID)
	}
	f.inputs["template:partials/navbar.html"] = "<nav>changed</nav>"
	res, err = b.Build(context.Background(), testSite, f)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rendered != 53 { // every page, listing, sitemap, 404; not the css
		t.Fatalf("navbar edit: rendered %d, want 53", res.Rendered)
	}
}

// TestBuild_IncrementalEqualsFull applies random edits and checks after each
// that the incremental build is byte-identical to a full build from scratch.
func TestBuild_IncrementalEqualsFull(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	st := mustOpenStore(t)
	f := newFakeSite(30)
	inc := &release.Builder{Store: st}
	next := 1000
	for step := 0; step < 40; step++ {
		pages := f.pages()
		switch rng.IntN(6) {
		case 0: // edit a page
			f.inputs["page:"+pages[rng.IntN(len(pages))]] = fmt.Sprintf("edit %d", rng.Int())
		case 1: // add a page
			next++
			f.inputs[fmt.Sprintf("page:/news/n%d/", next)] = fmt.Sprintf("new %d", rng.Int())
		case 2: // delete a page
			if len(pages) > 1 {
				delete(f.inputs, "page:"+pages[rng.IntN(len(pages))])
			}
		case 3:
			f.inputs["template:partials/navbar.html"] = fmt.Sprintf("<nav>%d</nav>", rng.IntN(3))
		case 4:
			f.inputs["asset:/theme/style.css"] = fmt.Sprintf("body{margin:%dpx}%s", rng.IntN(3), strings.Repeat(" ", 300))
		case 5: // revert-like: set an input to an earlier value
			f.inputs["setting:title"] = fmt.Sprintf("Fake %d", rng.IntN(2))
		}
		got, err := inc.Build(context.Background(), testSite, f)
		if err != nil {
			t.Fatal(err)
		}
		full := mustOpenStore(t)
		want, err := (&release.Builder{Store: full, Full: true}).Build(context.Background(), testSite, f)
		if err != nil {
			t.Fatal(err)
		}
		if got.Release.ID != want.Release.ID {
			t.Fatalf("step %d: incremental release %s != full %s", step, got.Release.ID, want.Release.ID)
		}
		for k, we := range want.Manifest.Files {
			ge := got.Manifest.Files[k]
			if ge != we {
				t.Fatalf("step %d: %s: incremental %+v, full %+v", step, k, ge, we)
			}
			a, _ := st.Blobs().Get(ge.SHA256)
			c, _ := full.Blobs().Get(we.SHA256)
			if string(a) != string(c) {
				t.Fatalf("step %d: %s: blob bytes differ", step, k)
			}
		}
	}
}

func TestBuild_ErrRender(t *testing.T) {
	st := mustOpenStore(t)
	f := newFakeSite(5)
	f.fail = "/news/p2/"
	_, err := (&release.Builder{Store: st}).Build(context.Background(), testSite, f)
	if err == nil || !strings.Contains(err.Error(), "/news/p2/") || !strings.Contains(err.Error(), "layouts/post.html") {
		t.Fatalf("err = %v, want one naming the page and the template", err)
	}
	if rels, _ := st.Releases(testSite.Host); len(rels) != 0 {
		t.Fatalf("a failed build left releases: %v", rels)
	}
}

func TestBuild_Cancel(t *testing.T) {
	st := mustOpenStore(t)
	f := newFakeSite(200)
	ctx, cancel := context.WithCancel(context.Background())
	b := &release.Builder{Store: st, Workers: 1, Progress: func(done, total int) {
		if done == 10 {
			cancel()
		}
	}}
	_, err := b.Build(ctx, testSite, f)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if rels, _ := st.Releases(testSite.Host); len(rels) != 0 {
		t.Fatalf("a cancelled build left releases: %v", rels)
	}
}

func TestBuild_ErrReservedOutput(t *testing.T) {
	st := mustOpenStore(t)
	r := &staticRenderer{outs: []release.Output{{Path: "/_orchard/site.json", ContentType: "text/plain"}}}
	if _, err := (&release.Builder{Store: st}).Build(context.Background(), testSite, r); orchard.ErrorCode(err) != orchard.EINVALID {
		t.Fatalf("err = %v, want EINVALID", err)
	}
	r = &staticRenderer{outs: []release.Output{{Path: "/a/", ContentType: "text/html"}, {Path: "/a/index.html", ContentType: "text/html"}}}
	if _, err := (&release.Builder{Store: st}).Build(context.Background(), testSite, r); orchard.ErrorCode(err) != orchard.EINVALID {
		t.Fatalf("duplicate outputs: err = %v, want EINVALID", err)
	}
}

func TestBuild_Keep(t *testing.T) {
	st := mustOpenStore(t)
	f := newFakeSite(3)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := &release.Builder{Store: st, Keep: 2, Now: func() time.Time { clock = clock.Add(time.Minute); return clock }}
	var first string
	for i := 0; i < 4; i++ {
		f.inputs["setting:title"] = fmt.Sprint(i)
		res, err := b.Build(context.Background(), testSite, f)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = res.Release.ID
			if _, err := st.SetActive(testSite.Host, first); err != nil {
				t.Fatal(err)
			}
		}
	}
	rels, _ := st.Releases(testSite.Host)
	if len(rels) != 3 || rels[2].ID != first {
		t.Fatalf("after 4 builds with keep 2: %d releases %+v; want 3 with the active one kept", len(rels), rels)
	}
}

type staticRenderer struct{ outs []release.Output }

func (s *staticRenderer) Outputs() []release.Output     { return s.outs }
func (s *staticRenderer) Render(string) ([]byte, error) { return []byte("x"), nil }
func (s *staticRenderer) Inputs() map[string]string     { return nil }

// TestBuild_UndoMakesEarlierReleaseNewest: an edit undone builds the very
// release of before the edit, whose Created is older; it must still be the
// newest, the one publish picks.
func TestBuild_UndoMakesEarlierReleaseNewest(t *testing.T) {
	st := mustOpenStore(t)
	f := newFakeSite(5)
	b := &release.Builder{Store: st, Keep: 1}
	orig := f.inputs["page:/news/p2/"]
	first, err := b.Build(context.Background(), testSite, f)
	if err != nil {
		t.Fatal(err)
	}
	f.inputs["page:/news/p2/"] = "edited"
	second, err := b.Build(context.Background(), testSite, f)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Latest(testSite.Host); got != second.Release.ID {
		t.Fatalf("after the edit Latest = %s, want %s", got, second.Release.ID)
	}
	f.inputs["page:/news/p2/"] = orig
	third, err := b.Build(context.Background(), testSite, f)
	if err != nil {
		t.Fatal(err)
	}
	if third.Release.ID != first.Release.ID {
		t.Fatalf("undo built %s, want the first release %s", third.Release.ID, first.Release.ID)
	}
	if got, _ := st.Latest(testSite.Host); got != first.Release.ID {
		t.Errorf("after the undo Latest = %s, want %s", got, first.Release.ID)
	}
	if _, err := st.Manifest(testSite.Host, first.Release.ID); err != nil {
		t.Errorf("pruning removed the newest release: %v", err)
	}
}

// TestBuild_Redirects: a site's redirects travel in the release's settings
// blob, so adding one makes a new release (with no page rendered again)
// whose settings a node reads back.
func TestBuild_Redirects(t *testing.T) {
	st := mustOpenStore(t)
	f := newFakeSite(5)
	b := &release.Builder{Store: st}
	plain, err := b.Build(context.Background(), testSite, f)
	if err != nil {
		t.Fatal(err)
	}
	site := *testSite
	site.Redirects = []orchard.Redirect{{From: "/2019/01/old/", To: "/news/p1/"}}
	res, err := b.Build(context.Background(), &site, f)
	if err != nil {
		t.Fatal(err)
	}
	if res.Release.ID == plain.Release.ID || !res.New || res.Rendered != 0 {
		t.Fatalf("build with a redirect: id %s (without: %s), new=%v, rendered %d; want a new release, nothing rendered",
			res.Release.ID, plain.Release.ID, res.New, res.Rendered)
	}
	data, err := st.Blobs().Get(res.Manifest.Files[release.SettingsKey].SHA256)
	if err != nil {
		t.Fatal(err)
	}
	got, err := release.ParseSettings(site.Host, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Redirects) != 1 || got.Redirects[0] != site.Redirects[0] {
		t.Fatalf("settings redirects = %v, want %v", got.Redirects, site.Redirects)
	}
}
