package folder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	orchard "github.com/orchardhq/orchard"
)

// Defaults of Options.
const (
	DefaultMaxFiles = 100_000
	DefaultMaxBytes = 1 << 30
)

// Options say how Read builds the site.
type Options struct {
	// Host is the new site's host name.
	Host string
	// MaxFiles is the most files (and directories) Read looks at
	// (default DefaultMaxFiles); MaxBytes the most bytes it reads in all
	// (default DefaultMaxBytes). Past either, Read fails.
	MaxFiles int
	MaxBytes int64
}

// Report says what Read imported and what it did not carry over as it was.
type Report struct {
	Kind                                         string // "Hugo" or "Jekyll"
	Pages, Drafts, Categories, Assets, Redirects int
	// Skipped lists files not imported, each with its reason.
	Skipped []string
	// Ignored lists the generator's own files and directories (templates,
	// configuration, data): the site gets orchard's default templates.
	Ignored []string
	// Shortcodes counts the Hugo shortcodes ({{< x >}}, {{% x %}}) and
	// Liquid tags ({% x %}) left in place, by name; ShortcodePages names
	// the pages holding them. orchard renders neither.
	Shortcodes     map[string]int
	ShortcodePages []string
	// Tags lists, per page path, the tags and further categories the page
	// had: an orchard page has one category and no tags.
	Tags map[string][]string
}

// Read imports the Hugo site (a content/ directory) or Jekyll site
// (_posts/, _config.yml) in root. It reads only through root, so no path
// leaves it; symbolic links are refused, hidden files skipped, and every
// file is read within the limits. The result validates as a whole; it has
// no templates or theme (the caller adds the defaults). A site with
// neither layout, or past a limit, is an EINVALID *orchard.Error.
func Read(ctx context.Context, root *os.Root, opt Options) (*orchard.SiteContent, *Report, error) {
	opt.MaxFiles = orchard.OrDefault(opt.MaxFiles, DefaultMaxFiles)
	opt.MaxBytes = orchard.OrDefault(opt.MaxBytes, DefaultMaxBytes)
	im := &importer{
		ctx: ctx, fsys: root.FS(), opt: opt,
		c:       &orchard.SiteContent{Site: orchard.Site{Host: opt.Host}},
		rep:     &Report{Shortcodes: map[string]int{}, Tags: map[string][]string{}},
		pages:   map[string]*orchard.Page{},
		cats:    map[string]*orchard.Category{},
		catMeta: map[string]frontMatter{},
		assets:  map[string]bool{},
	}
	var err error
	switch {
	case im.isDir("content"):
		err = im.hugo()
	case im.isDir("_posts") || im.isFile("_config.yml"):
		err = im.jekyll()
	default:
		return nil, nil, orchard.Errorf(orchard.EINVALID, "Neither a Hugo site (no content/ directory) nor a Jekyll site (no _posts/ or _config.yml).")
	}
	if err != nil {
		return nil, nil, err
	}
	if err := im.finish(); err != nil {
		return nil, nil, err
	}
	return im.c, im.rep, nil
}

type importer struct {
	ctx   context.Context
	fsys  fs.FS
	opt   Options
	c     *orchard.SiteContent
	rep   *Report
	files int
	bytes int64

	pages     map[string]*orchard.Page
	cats      map[string]*orchard.Category
	catMeta   map[string]frontMatter // category path -> its _index.md
	assets    map[string]bool
	redirects []orchard.Redirect
}

func (im *importer) isDir(name string) bool {
	fi, err := fs.Stat(im.fsys, name)
	return err == nil && fi.IsDir()
}

func (im *importer) isFile(name string) bool {
	fi, err := fs.Stat(im.fsys, name)
	return err == nil && fi.Mode().IsRegular()
}

func (im *importer) skip(name, format string, args ...any) {
	im.rep.Skipped = append(im.rep.Skipped, name+": "+fmt.Sprintf(format, args...))
}

// walk calls fn for every regular file under dir (slash-separated, "."
// for the top), refusing symbolic links and skipping hidden names and the
// directories skipDir (if not nil) names, within the file count limit. A
// missing dir walks nothing.
func (im *importer) walk(dir string, skipDir func(name string) bool, fn func(name string) error) error {
	if !im.isDir(dir) {
		return nil
	}
	return fs.WalkDir(im.fsys, dir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		if err := im.ctx.Err(); err != nil {
			return err
		}
		if im.files++; im.files > im.opt.MaxFiles {
			return orchard.Errorf(orchard.EINVALID, "The folder holds more than %d files.", im.opt.MaxFiles)
		}
		if name != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			im.skip(name, "a symbolic link (refused)")
		case d.IsDir() && name != dir && skipDir != nil && skipDir(name):
			return fs.SkipDir
		case d.IsDir():
		case !d.Type().IsRegular():
			im.skip(name, "not a regular file")
		default:
			return fn(name)
		}
		return nil
	})
}

// read returns the content of the regular file name, within the limits.
func (im *importer) read(name string) ([]byte, error) {
	f, err := im.fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, errSkip{"not a regular file"}
	}
	if fi.Size() > orchard.MaxAssetLen {
		return nil, errSkip{fmt.Sprintf("larger than %d MiB", orchard.MaxAssetLen>>20)}
	}
	data, err := io.ReadAll(io.LimitReader(f, orchard.MaxAssetLen+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > orchard.MaxAssetLen {
		return nil, errSkip{fmt.Sprintf("larger than %d MiB", orchard.MaxAssetLen>>20)}
	}
	if im.bytes += int64(len(data)); im.bytes > im.opt.MaxBytes {
		return nil, orchard.Errorf(orchard.EINVALID, "The folder holds more than %d bytes.", im.opt.MaxBytes)
	}
	return data, nil
}

// errSkip is a file that is left out (and reported), not a failure.
type errSkip struct{ reason string }

func (e errSkip) Error() string { return e.reason }

// readOrSkip reads name; a file to leave out is reported and gives nil.
func (im *importer) readOrSkip(name string) ([]byte, error) {
	data, err := im.read(name)
	var s errSkip
	if errors.As(err, &s) {
		im.skip(name, "%s", s.reason)
		return nil, nil
	}
	return data, err
}

// ignoreTop reports the top-level entries of the folder that keep is false
// for: the generator's templates, configuration and data.
func (im *importer) ignoreTop(keep func(name string) bool) {
	entries, err := fs.ReadDir(im.fsys, ".")
	if err != nil {
		return
	}
	for _, e := range entries {
		if n := e.Name(); !strings.HasPrefix(n, ".") && !keep(n) {
			if e.IsDir() {
				n += "/"
			}
			im.rep.Ignored = append(im.rep.Ignored, n)
		}
	}
}

// page is one content file turned into a page.
type page struct {
	src      string // file name, for the report
	oldURL   string // where the generator served it
	path     string // orchard path; "" = from oldURL
	category string // forced category (Jekyll posts); "" = the path's parent
	fm       frontMatter
	body     []byte
	format   string
	extra    []string // tags and further categories, reported
}

// addPage adds p, with a redirect from its old URL when the path differs
// and from each of its aliases.
func (im *importer) addPage(p page) {
	if strings.TrimSpace(p.fm.Title) == "" {
		base := strings.TrimSuffix(path.Base(p.src), path.Ext(p.src))
		if base == "index" || base == "_index" {
			base = path.Base(path.Dir(p.src))
		}
		p.fm.Title = base
	}
	if p.path == "" {
		p.path = pagePath(p.oldURL)
	}
	if p.category != "" {
		p.path = p.category + path.Base(p.path) + "/"
	}
	for n := 2; im.pages[p.path] != nil; n++ {
		p.path = fmt.Sprintf("%s-%d/", strings.TrimSuffix(p.path, "/"), n)
	}
	pg := &orchard.Page{Path: p.path, Title: p.fm.Title, Format: p.format, Body: string(p.body),
		Description: p.fm.Description, Published: p.fm.Draft == nil || !*p.fm.Draft,
		Created: p.fm.Date, Updated: p.fm.Lastmod}
	if pg.Updated.IsZero() {
		pg.Updated = pg.Created
	}
	if len(pg.Title) > 200 {
		pg.Title = pg.Title[:200]
	}
	if len(pg.Description) > 1000 {
		pg.Description = pg.Description[:1000]
	}
	pg.Category = orchard.ParentDir(pg.Path)
	if err := pg.Validate(); err != nil {
		im.skip(p.src, "%s", orchard.ErrorMessage(err))
		return
	}
	im.pages[pg.Path] = pg
	im.ensureCategory(pg.Category)
	if p.oldURL != "" {
		im.redirect(p.oldURL, pg.Path)
	}
	for _, a := range p.fm.Aliases {
		if !strings.HasPrefix(a, "/") && !strings.Contains(a, "://") {
			// Hugo reads a relative alias from the page's directory.
			dir := orchard.ParentDir(cleanURL(p.oldURL))
			if dir == "" {
				dir = "/"
			}
			a = dir + a
		}
		im.redirect(a, pg.Path)
	}
	if len(p.extra) > 0 {
		im.rep.Tags[pg.Path] = p.extra
	}
	im.scanShortcodes(pg.Path, pg.Body)
}

// redirect records that old (a URL path as the generator served it) is
// now at to; old URLs equal to to are dropped in finish.
func (im *importer) redirect(old, to string) {
	im.redirects = append(im.redirects, orchard.Redirect{From: old, To: to})
}

// ensureCategory adds the category at p and its ancestors.
func (im *importer) ensureCategory(p string) {
	for p != "" && im.cats[p] == nil {
		im.cats[p] = &orchard.Category{Path: p, Title: path.Base(p)}
		p = orchard.ParentDir(p)
	}
}

// addAsset adds the file name as an asset at the URL path url, with a
// redirect from url when it had to change to be an orchard path.
func (im *importer) addAsset(name, url string, data []byte) {
	p := assetPath(url)
	if im.assets[p] {
		im.skip(name, "another file has the path %s", p)
		return
	}
	ct := mime.TypeByExtension(path.Ext(p))
	if ct == "" || len(ct) > 100 {
		ct = http.DetectContentType(data)
	}
	a := orchard.Asset{Path: p, ContentType: ct, Data: data}
	if err := a.Validate(); err != nil {
		im.skip(name, "%s", orchard.ErrorMessage(err))
		return
	}
	im.assets[p] = true
	im.c.Assets = append(im.c.Assets, a)
	if p != url {
		im.redirect(url, p)
	}
}

// shortcodeRE finds Hugo shortcodes ({{< name ...>}}, {{% name ...%}},
// closing ones too) and Liquid tags ({% name ... %}).
var shortcodeRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\{\{([<%])\s*(/?)\s*([A-Za-z0-9_./-]+)|\{%-?\s*([A-Za-z_]+)`)
})

// scanShortcodes counts the shortcodes and Liquid tags of a page body.
func (im *importer) scanShortcodes(pagePath, body string) {
	found := false
	for _, m := range shortcodeRE().FindAllStringSubmatch(body, -1) {
		switch {
		case m[1] != "" && m[2] == "" && !strings.HasPrefix(m[3], "/*"):
			closer := map[string]string{"<": ">", "%": "%"}[m[1]]
			im.rep.Shortcodes["{{"+m[1]+" "+m[3]+" "+closer+"}}"]++
			found = true
		case m[4] != "" && !strings.HasPrefix(m[4], "end"):
			im.rep.Shortcodes["{% "+m[4]+" %}"]++
			found = true
		}
	}
	if found {
		im.rep.ShortcodePages = append(im.rep.ShortcodePages, pagePath)
	}
}

// finish gives the categories their titles, drops what clashes, validates
// the redirects and sorts the content.
func (im *importer) finish() error {
	for p, fm := range im.catMeta {
		im.ensureCategory(p)
		c := im.cats[p]
		if fm.Title != "" {
			c.Title = fm.Title
		}
		c.Description = fm.Description
	}
	for p, c := range im.cats {
		if len(c.Title) > 200 {
			c.Title = c.Title[:200]
		}
		if err := c.Validate(); err != nil {
			return orchard.Errorf(orchard.EINVALID, "Category %s: %s", p, orchard.ErrorMessage(err))
		}
		im.c.Categories = append(im.c.Categories, *c)
	}
	for p, pg := range im.pages {
		if im.cats[p] != nil {
			im.skip(p, "a page at the path of a section (the section's listing is served there)")
			delete(im.pages, p)
			continue
		}
		im.c.Pages = append(im.c.Pages, *pg)
		if pg.Path == "/" {
			continue
		}
		im.rep.Pages++
		if !pg.Published {
			im.rep.Drafts++
		}
	}
	served := func(p string) bool {
		return im.pages[p] != nil || im.cats[p] != nil || im.assets[p] || p == "/" ||
			im.pages[p+"/"] != nil || im.cats[p+"/"] != nil
	}
	seen := map[string]bool{}
	for _, r := range im.redirects {
		if cleanURL(r.From) == r.To {
			continue // not moved
		}
		if err := r.Validate(); err != nil {
			im.skip("redirect from "+r.From, "%s", orchard.ErrorMessage(err))
			continue
		}
		if r.From == r.To || served(r.From) || served(strings.TrimSuffix(r.From, "/")) || seen[r.From] {
			continue
		}
		seen[r.From] = true
		im.c.Site.Redirects = append(im.c.Site.Redirects, r)
	}
	im.rep.Categories, im.rep.Assets, im.rep.Redirects = len(im.c.Categories), len(im.c.Assets), len(im.c.Site.Redirects)
	if strings.TrimSpace(im.c.Site.Title) == "" {
		im.c.Site.Title = im.opt.Host
	}
	if len(im.c.Site.Title) > 200 {
		im.c.Site.Title = im.c.Site.Title[:200]
	}
	if len(im.c.Site.Description) > 1000 {
		im.c.Site.Description = im.c.Site.Description[:1000]
	}
	byPath := func(a, b string) int { return strings.Compare(a, b) }
	slices.SortFunc(im.c.Categories, func(a, b orchard.Category) int { return byPath(a.Path, b.Path) })
	slices.SortFunc(im.c.Pages, func(a, b orchard.Page) int { return byPath(a.Path, b.Path) })
	slices.SortFunc(im.c.Assets, func(a, b orchard.Asset) int { return byPath(a.Path, b.Path) })
	slices.Sort(im.rep.ShortcodePages)
	slices.Sort(im.rep.Skipped)
	return im.c.Site.Validate()
}

// cleanURL decodes a URL path as a request would, without its query; ""
// when it is not a path.
func cleanURL(u string) string {
	p, _, _ := strings.Cut(u, "?")
	p, _, _ = strings.Cut(p, "#")
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	c, err := orchard.CleanRequestPath(p)
	if err != nil {
		return ""
	}
	return c
}

// pagePath turns a URL path into an orchard page path: a directory of
// lower-case slug segments, an ".html" (".htm", ".md") last segment made
// a directory: "/Blog/My Post.html" -> "/blog/my-post/".
func pagePath(u string) string {
	segs := segments(cleanURL(u))
	if n := len(segs); n > 0 {
		for _, ext := range []string{".html", ".htm", ".md"} {
			if s, ok := strings.CutSuffix(segs[n-1], ext); ok {
				segs[n-1] = s
				break
			}
		}
	}
	var out []string
	for _, s := range segs {
		if s = orchard.FileSlug(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return "/"
	}
	return "/" + strings.Join(out, "/") + "/"
}

// assetPath turns a file's URL path into an orchard asset path: each
// segment a lower-case slug, the extension kept.
func assetPath(u string) string {
	var out []string
	for _, s := range segments(cleanURL(u)) {
		ext := strings.ToLower(path.Ext(s))
		base := orchard.FileSlug(strings.TrimSuffix(s, path.Ext(s)))
		if base == "" {
			base = "file"
		}
		out = append(out, base+orchard.FileSlug(ext))
	}
	return "/" + strings.Join(out, "/")
}

func segments(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
