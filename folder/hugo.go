package folder

import (
	"path"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"go.yaml.in/yaml/v3"

	orchard "github.com/orchardhq/orchard"
)

// hugo imports a Hugo site: content/ (pages, sections, bundles' files)
// and static/ (assets), and the title and description of its
// configuration. Hugo serves content/a/b.md at /a/b/ (lower-cased),
// content/a/b/index.md at /a/b/, content/a/_index.md is the section /a/.
func (im *importer) hugo() error {
	im.rep.Kind = "Hugo"
	im.hugoConfig()
	im.ignoreTop(func(n string) bool { return n == "content" || n == "static" })
	// Hugo's RSS feed of the home page; orchard's is /feed.xml.
	im.redirect("/index.xml", "/feed.xml")
	err := im.walk("content", nil, func(name string) error {
		rel := strings.TrimPrefix(name, "content/")
		ext := strings.ToLower(path.Ext(rel))
		data, err := im.readOrSkip(name)
		if err != nil || data == nil {
			return err
		}
		switch ext {
		case ".md", ".markdown", ".html", ".htm":
			fm, body, err := splitFrontMatter(data)
			if err != nil {
				im.skip(name, "%s", orchard.ErrorMessage(err))
				return nil
			}
			if ext == ".html" || ext == ".htm" {
				if fm.Format == "" { // Hugo copies an HTML file without front matter
					im.addAsset(name, "/"+rel, data)
					return nil
				}
				im.hugoPage(name, rel, fm, body, orchard.FormatHTML)
				return nil
			}
			im.hugoPage(name, rel, fm, body, orchard.FormatMarkdown)
		default: // a page bundle's resource, served beside the page
			im.addAsset(name, "/"+rel, data)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return im.walk("static", nil, func(name string) error {
		data, err := im.readOrSkip(name)
		if err != nil || data == nil {
			return err
		}
		im.addAsset(name, strings.TrimPrefix(name, "static"), data)
		return nil
	})
}

// hugoPage adds the content file rel (under content/).
func (im *importer) hugoPage(name, rel string, fm frontMatter, body []byte, format string) {
	dir := path.Dir(rel)
	if dir == "." {
		dir = ""
	}
	base := strings.TrimSuffix(path.Base(rel), path.Ext(rel))
	sectionURL := "/"
	if dir != "" {
		sectionURL = "/" + dir + "/"
	}
	if base == "_index" {
		if dir == "" { // the home page
			im.addPage(page{src: name, path: "/", fm: fm, body: body, format: format})
			return
		}
		p := pagePath(sectionURL)
		im.catMeta[p] = fm
		if strings.TrimSpace(string(body)) != "" {
			im.skip(name, "the section's text is not imported (a category has a title and a description)")
		}
		if cleanURL(strings.ToLower(sectionURL)) != p {
			im.redirect(strings.ToLower(sectionURL), p)
		}
		return
	}
	var oldURL string
	switch {
	case fm.URL != "":
		oldURL = fm.URL
		if !strings.HasPrefix(oldURL, "/") {
			oldURL = "/" + oldURL
		}
	case base == "index": // a leaf bundle: the directory is the page
		oldURL = sectionURL
		if fm.Slug != "" && dir != "" {
			oldURL = "/" + path.Join(path.Dir(dir), fm.Slug) + "/"
		}
	default:
		if fm.Slug != "" {
			base = fm.Slug
		}
		oldURL = sectionURL + base + "/"
	}
	// Hugo lower-cases the paths it makes.
	if fm.URL == "" {
		oldURL = strings.ToLower(oldURL)
	}
	var extra []string
	for _, c := range fm.Categories {
		extra = append(extra, "category:"+c)
	}
	for _, t := range fm.Tags {
		extra = append(extra, "tag:"+t)
	}
	im.addPage(page{src: name, oldURL: oldURL, fm: fm, body: body, format: format, extra: extra})
}

// hugoConfig takes the site's title and description from its
// configuration file, when one reads.
func (im *importer) hugoConfig() {
	for _, name := range []string{"hugo.toml", "config.toml", "hugo.yaml", "config.yaml", "hugo.yml", "config.yml"} {
		if !im.isFile(name) {
			continue
		}
		data, err := im.read(name)
		if err != nil || len(data) > maxFrontMatter {
			return
		}
		var cfg struct {
			Title  string         `toml:"title" yaml:"title"`
			Params map[string]any `toml:"params" yaml:"params"`
		}
		if strings.HasSuffix(name, ".toml") {
			err = toml.Unmarshal(data, &cfg)
		} else {
			err = yaml.Unmarshal(data, &cfg)
		}
		if err != nil {
			im.skip(name, "does not parse; the site's title is its host")
			return
		}
		im.c.Site.Title = strings.TrimSpace(cfg.Title)
		if d, ok := cfg.Params["description"].(string); ok {
			im.c.Site.Description = strings.TrimSpace(d)
		}
		return
	}
}
