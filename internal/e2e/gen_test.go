package e2e

import (
	"fmt"
	"strings"
	"sync"

	"github.com/orchardhq/orchard/release"
)

// genSite is a generated site for release.Builder: pages of about 8 KB whose
// content depends on a per-page version, so tests can change one page, a
// hundred, or the "template" (every page).
type genSite struct {
	mu       sync.Mutex
	pages    int
	template string
	version  map[int]int
}

func newGenSite(pages int) *genSite {
	return &genSite{pages: pages, template: "t1", version: map[int]int{}}
}

func (g *genSite) touch(pages ...int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, p := range pages {
		g.version[p]++
	}
}

func (g *genSite) setTemplate(t string) {
	g.mu.Lock()
	g.template = t
	g.mu.Unlock()
}

func (g *genSite) Outputs() []release.Output {
	out := []release.Output{{Path: "/404.html", ContentType: "text/html; charset=utf-8", Deps: []string{"template"}}}
	for i := range g.pages {
		out = append(out, release.Output{Path: pagePath(i), ContentType: "text/html; charset=utf-8", Deps: []string{"template", fmt.Sprintf("page:%d", i)}})
	}
	return out
}

func pagePath(i int) string { return fmt.Sprintf("/p%d/", i) }

var filler = strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 140) // ~8 KB

func (g *genSite) Render(path string) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if path == "/404.html" {
		return []byte("<html><body>not found (" + g.template + ")</body></html>"), nil
	}
	var i int
	if _, err := fmt.Sscanf(path, "/p%d/", &i); err != nil {
		return nil, fmt.Errorf("no output %s", path)
	}
	return []byte(fmt.Sprintf("<html><head><title>page %d</title></head><body data-t=%q data-v=%d>%s</body></html>",
		i, g.template, g.version[i], filler)), nil
}

func (g *genSite) Inputs() map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	in := map[string]string{"template": g.template}
	for i := range g.pages {
		in[fmt.Sprintf("page:%d", i)] = fmt.Sprint(g.version[i])
	}
	return in
}
