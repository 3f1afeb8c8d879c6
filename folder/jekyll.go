package folder

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	orchard "github.com/orchardhq/orchard"
)

// jekyllExcluded are the top-level names Jekyll leaves out of a site by
// default, beside those starting with '_' or '.'.
var jekyllExcluded = map[string]bool{"Gemfile": true, "Gemfile.lock": true, "node_modules": true, "vendor": true, "gemfiles": true}

// postName is a Jekyll post's file name: YYYY-MM-DD-title.ext.
var postName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})-(.+)\.(md|markdown|html)$`)
})

// jekyll imports a Jekyll site: posts from every _posts/ (directories above
// one are its posts' categories), drafts from _drafts/, pages (files with
// front matter) and everything else not excluded as assets. Jekyll's
// default URLs are /:categories/:year/:month/:day/:title.html for posts and
// /name.html for pages (with "permalink: pretty", directories).
func (im *importer) jekyll() error {
	im.rep.Kind = "Jekyll"
	pretty := im.jekyllConfig()
	im.ignoreTop(func(n string) bool {
		return n == "_posts" || n == "_drafts" || (!strings.HasPrefix(n, "_") && !jekyllExcluded[n])
	})
	// Directories Jekyll leaves out (_layouts, _includes, _site, ...;
	// node_modules, vendor) are not walked: _site alone may hold a copy of
	// the whole site.
	skipDir := func(name string) bool {
		base := path.Base(name)
		return (strings.HasPrefix(base, "_") && base != "_posts" && base != "_drafts") ||
			(!strings.Contains(name, "/") && jekyllExcluded[name])
	}
	return im.walk(".", skipDir, func(name string) error {
		segs := strings.Split(name, "/")
		if jekyllExcluded[segs[0]] {
			return nil
		}
		postsAt := -1
		for i, s := range segs[:len(segs)-1] {
			if s == "_posts" || s == "_drafts" {
				postsAt = i
				break
			}
			if strings.HasPrefix(s, "_") {
				return nil // _layouts, _includes, _sass, _data, _site: reported by ignoreTop
			}
		}
		if postsAt < 0 && strings.HasPrefix(segs[len(segs)-1], "_") {
			return nil // _config.yml and the like
		}
		data, err := im.readOrSkip(name)
		if err != nil || data == nil {
			return err
		}
		if postsAt >= 0 {
			im.jekyllPost(name, segs[:postsAt], segs[postsAt] == "_drafts", data, pretty)
			return nil
		}
		ext := strings.ToLower(path.Ext(name))
		if ext == ".md" || ext == ".markdown" || ext == ".html" || ext == ".htm" {
			fm, body, err := splitFrontMatter(data)
			if err != nil {
				im.skip(name, "%s", orchard.ErrorMessage(err))
				return nil
			}
			if fm.Format != "" { // Jekyll renders only files with front matter
				im.jekyllPage(name, fm, body, ext, pretty)
				return nil
			}
		}
		im.addAsset(name, "/"+name, data)
		return nil
	})
}

// jekyllPost adds a post (or a draft) of the categories dirCats.
func (im *importer) jekyllPost(name string, dirCats []string, draft bool, data []byte, pretty bool) {
	file := path.Base(name)
	m := postName().FindStringSubmatch(file)
	var day time.Time
	title := strings.TrimSuffix(file, path.Ext(file))
	if m != nil {
		var err error
		if day, err = time.Parse("2006-01-02", m[1]+"-"+m[2]+"-"+m[3]); err != nil {
			im.skip(name, "the date in the file name is not a date")
			return
		}
		title = m[4]
	} else if !draft {
		im.skip(name, "a post's file name must be YYYY-MM-DD-title.md")
		return
	}
	fm, body, err := splitFrontMatter(data)
	if err != nil {
		im.skip(name, "%s", orchard.ErrorMessage(err))
		return
	}
	if fm.Date.IsZero() {
		fm.Date = day
	}
	if draft {
		t := true
		fm.Draft = &t
	}
	if fm.Slug != "" {
		title = fm.Slug
	}
	cats := append(append([]string(nil), dirCats...), fm.Categories...)
	oldURL := fm.URL
	if oldURL == "" && !fm.Date.IsZero() {
		oldURL = "/"
		if len(cats) > 0 {
			oldURL += strings.Join(cats, "/") + "/"
		}
		oldURL += fm.Date.Format("2006/01/02/") + title
		if pretty {
			oldURL += "/"
		} else {
			oldURL += ".html"
		}
	}
	category := "/posts/"
	if len(cats) > 0 {
		if s := orchard.FileSlug(cats[0]); s != "" {
			category = "/" + s + "/"
		}
	}
	var extra []string
	for _, c := range cats[min(1, len(cats)):] {
		extra = append(extra, "category:"+c)
	}
	for _, t := range fm.Tags {
		extra = append(extra, "tag:"+t)
	}
	format := orchard.FormatMarkdown
	if e := strings.ToLower(path.Ext(file)); e == ".html" {
		format = orchard.FormatHTML
	}
	im.addPage(page{src: name, oldURL: oldURL, path: "/" + orchard.FileSlug(title) + "/", category: category,
		fm: fm, body: body, format: format, extra: extra})
}

// jekyllPage adds a page: name.md is served at /name.html, dir/index.md
// at /dir/ (pretty: /name/); a permalink wins.
func (im *importer) jekyllPage(name string, fm frontMatter, body []byte, ext string, pretty bool) {
	format := orchard.FormatMarkdown
	if ext == ".html" || ext == ".htm" {
		format = orchard.FormatHTML
	}
	base := strings.TrimSuffix(path.Base(name), path.Ext(name))
	dir := path.Dir(name)
	oldURL := "/"
	if dir != "." {
		oldURL += dir + "/"
	}
	switch {
	case fm.URL != "":
		oldURL = fm.URL
		if !strings.HasPrefix(oldURL, "/") {
			oldURL = "/" + oldURL
		}
	case base == "index":
	case pretty:
		oldURL += base + "/"
	default:
		oldURL += base + ".html"
	}
	if cleanURL(oldURL) == "/" {
		if strings.Contains(string(body), "{%") {
			im.skip(name, "the home page is a Liquid template (orchard's home page lists the posts instead)")
			return
		}
		im.addPage(page{src: name, path: "/", fm: fm, body: body, format: format})
		return
	}
	im.addPage(page{src: name, oldURL: oldURL, fm: fm, body: body, format: format})
}

// jekyllConfig takes the site's title and description from _config.yml and
// reports whether its permalinks are "pretty" (directories).
func (im *importer) jekyllConfig() (pretty bool) {
	if !im.isFile("_config.yml") {
		return false
	}
	data, err := im.read("_config.yml")
	if err != nil || len(data) > maxFrontMatter {
		return false
	}
	var cfg struct {
		Title       string `yaml:"title"`
		Description string `yaml:"description"`
		Permalink   string `yaml:"permalink"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		im.skip("_config.yml", "does not parse (%s); the site's title is its host", firstLine(err.Error()))
		return false
	}
	im.c.Site.Title = strings.TrimSpace(cfg.Title)
	im.c.Site.Description = strings.TrimSpace(cfg.Description)
	switch cfg.Permalink {
	case "", "date":
		return false
	case "pretty":
		return true
	}
	im.rep.Ignored = append(im.rep.Ignored, fmt.Sprintf("permalink %q in _config.yml (posts' old URLs are taken as Jekyll's default)", cfg.Permalink))
	return false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
