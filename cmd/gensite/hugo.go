package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// writeHugo writes the site as a Hugo project: 20 sections of Markdown
// pages, a base layout, single and list layouts and three partials.
func writeHugo(s *site, dir string) error {
	put := func(rel, data string) error {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(data), 0o644)
	}
	files := map[string]string{
		"hugo.toml": fmt.Sprintf("baseURL = \"http://%s/\"\ntitle = \"%s\"\ndisableKinds = [\"taxonomy\", \"term\"]\n", s.host, s.host),
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
		"static/theme/style.css":       s.files["/theme/style.css"].body,
	}
	for _, c := range s.cats {
		files["content"+c+"_index.md"] = fmt.Sprintf("---\ntitle: %q\n---\n", strings.Trim(c, "/"))
	}
	for _, p := range s.pagePaths {
		files["content"+strings.TrimSuffix(p, "/")+".md"] = fmt.Sprintf("---\ntitle: %q\ndate: 2026-01-01\n---\n%s", s.titles[p], s.bodies[p])
	}
	for rel, data := range files {
		if err := put(rel, data); err != nil {
			return err
		}
	}
	return nil
}
