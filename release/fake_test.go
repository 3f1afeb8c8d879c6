package release_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/orchardhq/orchard/release"
)

// fakeSite is a renderer over a map of inputs, with the dependency shape of
// a real site: pages depend on themselves, the layout and the navbar; the
// listing and the sitemap on every page; the stylesheet on the theme.
type fakeSite struct {
	inputs  map[string]string // key -> content
	renders atomic.Int64
	fail    string // output path whose Render fails
}

func newFakeSite(pages int) *fakeSite {
	f := &fakeSite{inputs: map[string]string{
		"template:layouts/post.html":    "<html>{{body}}</html>",
		"template:partials/navbar.html": "<nav>home</nav>",
		"asset:/theme/style.css":        "body{color:black}" + strings.Repeat(" ", 300),
		"setting:title":                 "Fake",
	}}
	for i := 0; i < pages; i++ {
		f.inputs[fmt.Sprintf("page:/news/p%d/", i)] = fmt.Sprintf("page %d %s", i, strings.Repeat("lorem ipsum ", 40))
	}
	return f
}

func (f *fakeSite) pages() []string {
	var out []string
	for k := range f.inputs {
		if p, ok := strings.CutPrefix(k, "page:"); ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func (f *fakeSite) Outputs() []release.Output {
	common := []string{"template:layouts/post.html", "template:partials/navbar.html", "setting:title"}
	var outs []release.Output
	all := append([]string{}, common...)
	for _, p := range f.pages() {
		outs = append(outs, release.Output{Path: p, ContentType: "text/html; charset=utf-8", Deps: append([]string{"page:" + p}, common...)})
		all = append(all, "page:"+p)
	}
	outs = append(outs,
		release.Output{Path: "/news/", ContentType: "text/html; charset=utf-8", Deps: all},
		release.Output{Path: "/sitemap.xml", ContentType: "application/xml", Deps: all},
		release.Output{Path: "/404.html", ContentType: "text/html; charset=utf-8", Deps: common},
		release.Output{Path: "/theme/style.css", ContentType: "text/css; charset=utf-8", Deps: []string{"asset:/theme/style.css"}},
	)
	return outs
}

func (f *fakeSite) Render(path string) ([]byte, error) {
	f.renders.Add(1)
	if path == f.fail {
		return nil, fmt.Errorf("template layouts/post.html: boom")
	}
	for _, o := range f.Outputs() {
		if o.Path != path {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s\n", path)
		for _, d := range o.Deps {
			fmt.Fprintf(&b, "%s=%s\n", d, f.inputs[d])
		}
		return []byte(b.String()), nil
	}
	return nil, fmt.Errorf("no output %s", path)
}

func (f *fakeSite) Inputs() map[string]string {
	out := make(map[string]string, len(f.inputs))
	for k, v := range f.inputs {
		sum := sha256.Sum256([]byte(v))
		out[k] = hex.EncodeToString(sum[:8])
	}
	return out
}
