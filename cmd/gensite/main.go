// Command gensite generates the benchmark sites of bench/peers: N pages of
// about 8 KB in C categories, the same site in three forms:
//
//	-html DIR   a tree of files for nginx: DIR/HOST/... (root .../$host)
//	-node DIR   a release built into a node data dir and made active
//	-hugo DIR   a Hugo site of the same pages in Markdown, with a base
//	            layout and three partials (banner, navbar, footer)
//	-orchard F  the same Markdown site in orchard's SQLite database F
//	            (cluster file: build it with orchard build)
//	-urls FILE  every page path, one a line (for wrk's random mix)
//
// -sites N makes N such sites, s00001.HOST to sNNNNN.HOST, the same pages
// under each host (for -orchard and -node: how costs grow with the number
// of sites); -urls then lists http://HOST/PATH lines over every site.
//
// Usage: go run ./cmd/gensite -pages 10000 -host bench.test -html www -node node0 -urls urls.txt
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

func main() {
	pages := flag.Int("pages", 10000, "pages")
	cats := flag.Int("categories", 20, "categories")
	host := flag.String("host", "bench.test", "site host")
	htmlDir := flag.String("html", "", "write the HTML tree under DIR/HOST")
	nodeDir := flag.String("node", "", "build the release into this node data dir and activate it")
	hugoDir := flag.String("hugo", "", "write the equivalent Hugo site here")
	orchardDB := flag.String("orchard", "", "write the equivalent site into this orchard SQLite database")
	urls := flag.String("urls", "", "write every page path to this file")
	edit := flag.Int("edit", -1, "with -orchard: change the body of this page only")
	sites := flag.Int("sites", 1, "with -orchard, -node or -urls: this many sites, s00001.HOST ...")
	body := flag.Int("body", 7100, "bytes of text per page (~8 KB pages by default, like the seed's)")
	flag.Parse()
	s := newSite(*host, *pages, *cats, *body)
	var err error
	if *sites > 1 {
		err = runMany(s, *sites, *nodeDir, *orchardDB, *urls)
	} else {
		err = run(s, *htmlDir, *nodeDir, *hugoDir, *orchardDB, *urls, *edit)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gensite:", err)
		os.Exit(1)
	}
}

func run(s *site, htmlDir, nodeDir, hugoDir, orchardDB, urls string, edit int) error {
	if edit >= 0 {
		return editOrchard(s, orchardDB, edit)
	}
	if htmlDir != "" {
		for p, f := range s.files {
			dst := filepath.Join(htmlDir, s.host, filepath.FromSlash(orchard.ManifestKey(p)))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(dst, []byte(f.body), 0o644); err != nil {
				return err
			}
		}
	}
	if nodeDir != "" {
		st, err := release.OpenStore(nodeDir)
		if err != nil {
			return err
		}
		res, err := (&release.Builder{Store: st}).Build(context.Background(), &orchard.Site{Host: s.host}, s)
		if err != nil {
			return err
		}
		if _, err := st.SetActive(s.host, res.Release.ID); err != nil {
			return err
		}
		fmt.Printf("release %s %s: %d files, %d bytes\n", s.host, res.Release.ID, res.Release.Files, res.Release.Bytes)
	}
	if urls != "" {
		var b strings.Builder
		for _, p := range s.pagePaths {
			b.WriteString(p + "\n")
		}
		if err := os.WriteFile(urls, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	if hugoDir != "" {
		if err := writeHugo(s, hugoDir); err != nil {
			return err
		}
	}
	if orchardDB != "" {
		return writeOrchard(s, orchardDB)
	}
	return nil
}

type file struct{ contentType, body string }

// site is a generated site: pages of Markdown-like text and their HTML.
type site struct {
	host      string
	cats      []string
	pagePaths []string
	titles    map[string]string
	bodies    map[string]string // page path -> Markdown body
	files     map[string]file   // request path -> rendered HTML (for nginx and the node)
}

var words = strings.Fields(`orchard apple pear cherry plum branch root leaf blossom harvest basket ladder
cider press season frost grafting pruning soil water sun rain bee pollen fruit tree grove farmer market`)

func newSite(host string, pages, cats, body int) *site {
	rng := rand.New(rand.NewPCG(42, uint64(pages)))
	s := &site{host: host, titles: map[string]string{}, bodies: map[string]string{}, files: map[string]file{}}
	for c := 0; c < cats; c++ {
		s.cats = append(s.cats, fmt.Sprintf("/c%02d/", c))
	}
	for i := 0; i < pages; i++ {
		cat := s.cats[i%cats]
		p := fmt.Sprintf("%sp%05d/", cat, i)
		s.pagePaths = append(s.pagePaths, p)
		s.titles[p] = fmt.Sprintf("Page %d about %s", i, words[rng.IntN(len(words))])
		s.bodies[p] = paragraphs(rng, body)
	}
	css := "body{font-family:sans-serif;max-width:50em;margin:auto}nav a{margin-right:1em}" + strings.Repeat("\n", 10)
	s.files["/theme/style.css"] = file{"text/css; charset=utf-8", css}
	s.files["/404.html"] = file{"text/html; charset=utf-8", s.layout("Not found", "<p>No such page.</p>")}
	var home strings.Builder
	for _, c := range s.cats {
		fmt.Fprintf(&home, "<li><a href=\"%s\">%s</a></li>\n", c, c)
	}
	s.files["/"] = file{"text/html; charset=utf-8", s.layout("Home", "<ul>"+home.String()+"</ul>")}
	for _, c := range s.cats {
		var l strings.Builder
		for _, p := range s.pagePaths {
			if strings.HasPrefix(p, c) {
				fmt.Fprintf(&l, "<li><a href=\"%s\">%s</a></li>\n", p, s.titles[p])
			}
		}
		s.files[c] = file{"text/html; charset=utf-8", s.layout(c, "<ul>"+l.String()+"</ul>")}
	}
	for _, p := range s.pagePaths {
		s.files[p] = file{"text/html; charset=utf-8", s.layout(s.titles[p], mdToHTML(s.bodies[p]))}
	}
	return s
}

// paragraphs returns about n bytes of text in paragraphs.
func paragraphs(rng *rand.Rand, n int) string {
	var b strings.Builder
	for b.Len() < n {
		for i := 0; i < 60; i++ {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[rng.IntN(len(words))])
		}
		b.WriteString(".\n\n")
	}
	return b.String()
}

func mdToHTML(md string) string {
	var b strings.Builder
	for _, para := range strings.Split(strings.TrimSpace(md), "\n\n") {
		b.WriteString("<p>" + para + "</p>\n")
	}
	return b.String()
}

func (s *site) layout(title, body string) string {
	var nav strings.Builder
	for _, c := range s.cats {
		fmt.Fprintf(&nav, "<a href=\"%s\">%s</a>", c, strings.Trim(c, "/"))
	}
	return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + title +
		"</title><link rel=\"stylesheet\" href=\"/theme/style.css\"></head><body>\n<header>" + s.host +
		"</header>\n<nav>" + nav.String() + "</nav>\n<main><h1>" + title + "</h1>\n" + body +
		"</main>\n<footer>generated " + time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006") + "</footer></body></html>\n"
}

// release.Renderer over the pre-rendered files.

func (s *site) Outputs() []release.Output {
	out := make([]release.Output, 0, len(s.files))
	for p, f := range s.files {
		out = append(out, release.Output{Path: p, ContentType: f.contentType, Deps: []string{p}})
	}
	return out
}

func (s *site) Render(p string) ([]byte, error) { return []byte(s.files[p].body), nil }

func (s *site) Inputs() map[string]string {
	in := make(map[string]string, len(s.files))
	for p, f := range s.files {
		in[p] = fmt.Sprint(len(f.body)) + f.body[:min(len(f.body), 64)]
	}
	return in
}
