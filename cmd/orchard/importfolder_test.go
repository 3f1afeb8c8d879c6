package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeBenchHugo writes the Hugo site bench/gensite -hugo writes (for
// bench/peers/build-vs-hugo.sh), with pages pages in cats categories, and
// returns every URL Hugo serves for it.
func writeBenchHugo(t *testing.T, dir, host string, pages, cats int) []string {
	t.Helper()
	files := map[string]string{
		"hugo.toml": fmt.Sprintf("baseURL = \"http://%s/\"\ntitle = \"%s\"\ndisableKinds = [\"taxonomy\", \"term\"]\n", host, host),
		"layouts/_default/baseof.html": `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{ .Title }}</title><link rel="stylesheet" href="/theme/style.css"></head><body>
{{ partial "banner.html" . }}{{ partial "navbar.html" . }}
<main><h1>{{ .Title }}</h1>
{{ block "main" . }}{{ end }}
</main>
{{ partial "footer.html" . }}</body></html>
`,
		"layouts/_default/single.html": `{{ define "main" }}{{ .Content }}{{ end }}`,
		"layouts/_default/list.html":   `{{ define "main" }}<ul>{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>{{ end }}`,
		"layouts/partials/banner.html": `<header>{{ .Site.Title }}</header>`,
		"layouts/partials/navbar.html": `<nav>{{ range .Site.Sections }}<a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}</nav>`,
		"layouts/partials/footer.html": `<footer>generated</footer>`,
		"layouts/404.html":             `{{ define "main" }}<p>No such page.</p>{{ end }}`,
		"static/theme/style.css":       "body{font-family:sans-serif;max-width:50em;margin:auto}nav a{margin-right:1em}" + strings.Repeat("\n", 10),
	}
	urls := []string{"/", "/theme/style.css", "/404.html", "/sitemap.xml", "/index.xml"}
	for c := 0; c < cats; c++ {
		cat := fmt.Sprintf("/c%02d/", c)
		files["content"+cat+"_index.md"] = fmt.Sprintf("---\ntitle: %q\n---\n", strings.Trim(cat, "/"))
		urls = append(urls, cat)
	}
	for i := 0; i < pages; i++ {
		p := fmt.Sprintf("/c%02d/p%05d/", i%cats, i)
		body := strings.Repeat(fmt.Sprintf("orchard apple pear %d cherry plum.\n\n", i), 20)
		files["content"+strings.TrimSuffix(p, "/")+".md"] = fmt.Sprintf("---\ntitle: %q\ndate: 2026-01-01\n---\n%s", fmt.Sprintf("Page %d about apples", i), body)
		urls = append(urls, p)
	}
	for rel, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return urls
}

// TestImportFolderBenchHugo: the Hugo site of the build-vs-Hugo benchmark
// imports, builds and publishes, and every URL Hugo serves for it answers
// on the node, at the same path or through a redirect.
func TestImportFolderBenchHugo(t *testing.T) {
	ac := startAdminCluster(t)
	cfg := ac.m.cfg.Path
	const host = "bench.test"
	dir := t.TempDir()
	urls := writeBenchHugo(t, dir, host, 50, 5)
	out := mustCLI(t, cfg, "", "import", "folder", "-s", host, dir)
	if !strings.Contains(out, "(Hugo): 50 pages (0 unpublished), 5 categories, 1 assets") {
		t.Errorf("import printed:\n%s", out)
	}
	mustCLI(t, cfg, "", "publish", "-s", host, "--build", "-q")
	node := "http://" + ac.node.Addr()
	for _, u := range urls {
		code, loc := fetchRedirect(t, node+u, host)
		if code == http.StatusMovedPermanently {
			code, _ = fetchRedirect(t, node+loc, host)
		}
		if code != http.StatusOK {
			t.Errorf("Hugo URL %s answers %d on the node (Location %q), want 200", u, code, loc)
		}
	}
	// The pages are the Hugo site's, not empty shells.
	if _, body := fetch(t, node+"/c01/p00006/", host); !strings.Contains(body, "Page 6 about apples") || !strings.Contains(body, "orchard apple pear 6 cherry plum.") {
		t.Errorf("/c01/p00006/ does not show the page:\n%.500s", body)
	}
	if _, body := fetch(t, node+"/c02/", host); !strings.Contains(body, "/c02/p00007/") {
		t.Errorf("the section listing /c02/ does not list its pages:\n%.500s", body)
	}
}

// TestImportFolderJekyll: the Jekyll test folder imports; its old dated
// post URLs redirect to the new paths on the node.
func TestImportFolderJekyll(t *testing.T) {
	ac := startAdminCluster(t)
	cfg := ac.m.cfg.Path
	const host = "jekyll.test"
	out := mustCLI(t, cfg, "", "import", "folder", "-s", host, "../../folder/testdata/jekyll")
	for _, want := range []string{
		"(Jekyll): 7 pages (1 unpublished), 3 categories, 1 assets, 4 redirects\n",
		"Creating tables for jekyll.test (one transaction)\n",
		"Left in place (orchard renders no shortcodes or Liquid): {% highlight %} x1, on /jekyll/welcome-to-jekyll/\n",
		"Not imported (templates, configuration, data): Gemfile, _config.yml, _layouts/\n",
		"Skipped _posts/not-a-post.md: a post's file name must be YYYY-MM-DD-title.md\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("import printed:\n%s\nwant %q", out, want)
		}
	}
	mustCLI(t, cfg, "", "publish", "-s", host, "--build", "-q")
	code, loc := fetchRedirect(t, "http://"+ac.node.Addr()+"/jekyll/update/2024/03/01/welcome-to-jekyll.html", host)
	if code != http.StatusMovedPermanently || loc != "/jekyll/welcome-to-jekyll/" {
		t.Errorf("old post URL: %d Location %q", code, loc)
	}
	if code, _ := fetch(t, "http://"+ac.node.Addr()+loc, host); code != http.StatusOK {
		t.Errorf("new post URL %s: %d", loc, code)
	}
	t.Run("ErrExists", func(t *testing.T) {
		wantExit(t, runCLI(t, cfg, "", "import", "folder", "-s", host, "../../folder/testdata/jekyll"), 2, "the site already exists")
	})
	t.Run("ErrNotASite", func(t *testing.T) {
		wantExit(t, runCLI(t, cfg, "", "import", "folder", "-s", "empty.test", t.TempDir()), 1, "Neither a Hugo site")
		if list := mustCLI(t, cfg, "", "site", "list"); strings.Contains(list, "empty.test") {
			t.Errorf("a refused import created the site:\n%s", list)
		}
	})
}
