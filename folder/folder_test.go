package folder_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/folder"
)

// copyTree copies testdata/name into a temporary directory (so a test may
// add links to it) and returns the directory.
func copyTree(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", name))); err != nil {
		t.Fatal(err)
	}
	return dir
}

func mustRead(t *testing.T, dir string) (*orchard.SiteContent, *folder.Report) {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	c, rep, err := folder.Read(t.Context(), root, folder.Options{Host: "orchard.example"})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	// What the store would do with it: everything validates.
	if err := c.Site.Validate(); err != nil {
		t.Fatalf("site: %v", err)
	}
	return c, rep
}

func pageAt(t *testing.T, c *orchard.SiteContent, path string) *orchard.Page {
	t.Helper()
	for i := range c.Pages {
		if c.Pages[i].Path == path {
			return &c.Pages[i]
		}
	}
	var have []string
	for _, p := range c.Pages {
		have = append(have, p.Path)
	}
	t.Fatalf("no page %s; pages: %v", path, have)
	return nil
}

func redirectsOf(c *orchard.SiteContent) map[string]string {
	m := map[string]string{}
	for _, r := range c.Site.Redirects {
		m[r.From] = r.To
	}
	return m
}

func hasSkipped(rep *folder.Report, prefix string) bool {
	return slices.ContainsFunc(rep.Skipped, func(s string) bool { return strings.HasPrefix(s, prefix) })
}

func TestReadHugo(t *testing.T) {
	dir := copyTree(t, "hugo")
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "static", "passwd")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("about.md", filepath.Join(dir, "content", "link.md")); err != nil {
		t.Fatal(err)
	}
	c, rep := mustRead(t, dir)

	t.Run("Site", func(t *testing.T) {
		if c.Site.Title != "Hill Orchard (Hugo)" || c.Site.Description != "Apples and pears, by Hugo." || rep.Kind != "Hugo" {
			t.Errorf("site %q %q kind %q", c.Site.Title, c.Site.Description, rep.Kind)
		}
	})
	t.Run("YAML", func(t *testing.T) {
		p := pageAt(t, c, "/posts/first-apples/")
		if p.Title != "First apples" || p.Category != "/posts/" || !p.Published || p.Format != orchard.FormatMarkdown ||
			p.Description != "The first apples are in." || !p.Created.Equal(time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)) ||
			!p.Updated.Equal(time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)) || !strings.HasPrefix(p.Body, "The first **apples** are in.") {
			t.Errorf("page %+v", p)
		}
	})
	t.Run("TOMLDraftSlug", func(t *testing.T) {
		p := pageAt(t, c, "/posts/cider-plans-2024/")
		if p.Title != "Cider plans" || p.Published || !p.Created.Equal(time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("page %+v", p)
		}
	})
	t.Run("JSONBundle", func(t *testing.T) {
		p := pageAt(t, c, "/posts/bundle/")
		if p.Title != "A page bundle" || p.Description != "A post with its own picture." || strings.TrimSpace(p.Body) != "![pear](pear.png)" {
			t.Errorf("page %+v", p)
		}
	})
	t.Run("HomeAndSection", func(t *testing.T) {
		if p := pageAt(t, c, "/"); p.Title != "Welcome" {
			t.Errorf("home %+v", p)
		}
		want := []string{"/how-to/", "/posts/"}
		var got []string
		for _, cat := range c.Categories {
			got = append(got, cat.Path)
			if cat.Path == "/posts/" && (cat.Title != "News" || cat.Description != "What is new at the orchard.") {
				t.Errorf("section /posts/ from _index.md: %+v", cat)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("categories %v, want %v", got, want)
		}
		pageAt(t, c, "/how-to/prune/")
		pageAt(t, c, "/about/")
	})
	t.Run("Assets", func(t *testing.T) {
		var got []string
		for _, a := range c.Assets {
			got = append(got, a.Path)
		}
		want := []string{"/css/site.css", "/img/apple.png", "/img/logo-big.png", "/posts/bundle/pear.png"}
		if !slices.Equal(got, want) {
			t.Errorf("assets %v, want %v", got, want)
		}
	})
	t.Run("Redirects", func(t *testing.T) {
		got := redirectsOf(c)
		for from, to := range map[string]string{
			"/2024/03/first-apples/":      "/posts/first-apples/", // alias
			"/posts/old-first-apples":     "/posts/first-apples/", // relative alias
			"/img/Logo%20Big.PNG":         "/img/logo-big.png",    // a name orchard cannot hold
			"/index.xml":                  "/feed.xml",
			"/posts/cider-plans-2024/":    "", // served: no redirect
			"/posts/cider_plans/":         "",
			"/posts/first-apples/":        "",
			"/how-to/prune/":              "",
			"/docs/pruning/":              "",
			"/posts/bundle/":              "",
			"/posts/bundle/index.html":    "",
			"/posts/first-apples.html":    "",
			"/posts/cider-plans-2024.htm": "",
		} {
			if got[from] != to {
				t.Errorf("redirect from %s = %q, want %q", from, got[from], to)
			}
		}
	})
	t.Run("Shortcodes", func(t *testing.T) {
		if rep.Shortcodes["{{< figure >}}"] != 1 || rep.Shortcodes["{{% note %}}"] != 1 || !slices.Equal(rep.ShortcodePages, []string{"/posts/first-apples/"}) {
			t.Errorf("shortcodes %v on %v", rep.Shortcodes, rep.ShortcodePages)
		}
		if p := pageAt(t, c, "/posts/first-apples/"); !strings.Contains(p.Body, `{{< figure src="/img/apple.png" title="An apple" >}}`) {
			t.Errorf("a shortcode was dropped from the body:\n%s", p.Body)
		}
	})
	t.Run("TagsReported", func(t *testing.T) {
		if got, want := rep.Tags["/posts/first-apples/"], []string{"category:harvest", "category:news", "tag:apples"}; !slices.Equal(got, want) {
			t.Errorf("tags %v, want %v", got, want)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		if !hasSkipped(rep, "static/passwd: a symbolic link") || !hasSkipped(rep, "content/link.md: a symbolic link") {
			t.Errorf("symbolic links not reported: %q", rep.Skipped)
		}
		for _, a := range c.Assets {
			if strings.Contains(string(a.Data), "root:") {
				t.Errorf("asset %s holds /etc/passwd", a.Path)
			}
		}
		if !slices.Equal(rep.Ignored, []string{"archetypes/", "hugo.toml", "layouts/"}) {
			t.Errorf("ignored %v", rep.Ignored)
		}
	})
	t.Run("Counts", func(t *testing.T) {
		if rep.Pages != 5 || rep.Drafts != 1 || rep.Categories != 2 || rep.Assets != 4 || rep.Redirects != len(c.Site.Redirects) {
			t.Errorf("report %+v", rep)
		}
	})
}

func TestReadJekyll(t *testing.T) {
	c, rep := mustRead(t, copyTree(t, "jekyll"))
	if c.Site.Title != "Hill Orchard (Jekyll)" || rep.Kind != "Jekyll" {
		t.Errorf("site %q kind %q", c.Site.Title, rep.Kind)
	}
	t.Run("Posts", func(t *testing.T) {
		p := pageAt(t, c, "/jekyll/welcome-to-jekyll/")
		if p.Title != "Welcome to Jekyll!" || p.Category != "/jekyll/" || !p.Published ||
			!p.Created.Equal(time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)) {
			t.Errorf("post %+v", p)
		}
		p = pageAt(t, c, "/posts/pears/")
		if p.Description != "The pears are ripe." || !p.Created.Equal(time.Date(2024, 4, 2, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("post %+v", p)
		}
		if p := pageAt(t, c, "/blog/cider/"); p.Category != "/blog/" {
			t.Errorf("a post under blog/_posts: %+v", p)
		}
		if p := pageAt(t, c, "/posts/plum-jam/"); p.Published {
			t.Errorf("a draft is published: %+v", p)
		}
	})
	t.Run("Pages", func(t *testing.T) {
		pageAt(t, c, "/about/")
		pageAt(t, c, "/docs/")
		if p := pageAt(t, c, "/contact/"); p.Format != orchard.FormatHTML || strings.TrimSpace(p.Body) != "<p>Write to us.</p>" {
			t.Errorf("contact %+v", p)
		}
		for _, p := range c.Pages {
			if p.Path == "/" {
				t.Errorf("the Liquid home page was imported: %q", p.Body)
			}
		}
	})
	t.Run("Redirects", func(t *testing.T) {
		got := redirectsOf(c)
		for from, to := range map[string]string{
			"/jekyll/update/2024/03/01/welcome-to-jekyll.html": "/jekyll/welcome-to-jekyll/",
			"/2024/04/02/pears.html":                           "/posts/pears/",
			"/blog/2024/05/03/cider.html":                      "/blog/cider/",
			"/contact.html":                                    "/contact/",
			"/about/":                                          "",
		} {
			if got[from] != to {
				t.Errorf("redirect from %s = %q, want %q (all %v)", from, got[from], to, got)
			}
		}
	})
	t.Run("AssetsAndSkipped", func(t *testing.T) {
		if len(c.Assets) != 1 || c.Assets[0].Path != "/assets/css/style.css" || c.Assets[0].ContentType != "text/css; charset=utf-8" {
			t.Errorf("assets %+v", c.Assets)
		}
		if !hasSkipped(rep, "_posts/not-a-post.md: a post's file name") || !hasSkipped(rep, "index.html: the home page is a Liquid template") || len(rep.Skipped) != 2 {
			t.Errorf("skipped %q", rep.Skipped)
		}
		if rep.Shortcodes["{% highlight %}"] != 1 || rep.Shortcodes["{% endhighlight %}"] != 0 {
			t.Errorf("Liquid tags %v", rep.Shortcodes)
		}
		if !slices.Equal(rep.Ignored, []string{"Gemfile", "_config.yml", "_layouts/"}) {
			t.Errorf("ignored %v", rep.Ignored)
		}
		if got, want := rep.Tags["/jekyll/welcome-to-jekyll/"], []string{"category:update"}; !slices.Equal(got, want) {
			t.Errorf("tags %v, want %v", got, want)
		}
	})
}

func TestReadRefuses(t *testing.T) {
	read := func(dir string, opt folder.Options) error {
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		opt.Host = "orchard.example"
		_, _, err = folder.Read(t.Context(), root, opt)
		return err
	}
	t.Run("ErrNotASite", func(t *testing.T) {
		if err := read(t.TempDir(), folder.Options{}); orchard.ErrorCode(err) != orchard.EINVALID {
			t.Errorf("Read(empty dir) = %v, want EINVALID", err)
		}
	})
	t.Run("ErrTooManyFiles", func(t *testing.T) {
		err := read(copyTree(t, "hugo"), folder.Options{MaxFiles: 5})
		if orchard.ErrorCode(err) != orchard.EINVALID || !strings.Contains(err.Error(), "more than 5 files") {
			t.Errorf("Read past MaxFiles = %v", err)
		}
	})
	t.Run("ErrTooManyBytes", func(t *testing.T) {
		err := read(copyTree(t, "hugo"), folder.Options{MaxBytes: 100})
		if orchard.ErrorCode(err) != orchard.EINVALID || !strings.Contains(err.Error(), "more than 100 bytes") {
			t.Errorf("Read past MaxBytes = %v", err)
		}
	})
	t.Run("JekyllSiteNotWalked", func(t *testing.T) {
		// _site is Jekyll's output: a copy of the site not to import, nor
		// to count against the limit.
		dir := copyTree(t, "jekyll")
		os.MkdirAll(filepath.Join(dir, "_site"), 0o755)
		for i := range 50 {
			os.WriteFile(filepath.Join(dir, "_site", fmt.Sprintf("p%d.html", i)), []byte("x"), 0o600)
		}
		if err := read(dir, folder.Options{MaxFiles: 40}); err != nil {
			t.Errorf("Read with a big _site: %v", err)
		}
	})
	t.Run("SymlinkedDirectory", func(t *testing.T) {
		dir := copyTree(t, "hugo")
		outside := t.TempDir()
		os.WriteFile(filepath.Join(outside, "secret.md"), []byte("---\ntitle: secret\n---\nsecret"), 0o600)
		if err := os.Symlink(outside, filepath.Join(dir, "content", "escape")); err != nil {
			t.Fatal(err)
		}
		c, rep := mustRead(t, dir)
		for _, p := range c.Pages {
			if strings.Contains(p.Body, "secret") {
				t.Errorf("a page was read through a symbolic link: %s", p.Path)
			}
		}
		if !hasSkipped(rep, "content/escape: a symbolic link") {
			t.Errorf("skipped %q", rep.Skipped)
		}
	})
	t.Run("BadFrontMatterSkipped", func(t *testing.T) {
		dir := copyTree(t, "hugo")
		os.WriteFile(filepath.Join(dir, "content", "bad.md"), []byte("---\ntitle: [unclosed\n---\nx"), 0o600)
		c, rep := mustRead(t, dir)
		if !hasSkipped(rep, "content/bad.md: Front matter (YAML) does not parse") {
			t.Errorf("skipped %q", rep.Skipped)
		}
		if len(c.Pages) == 0 {
			t.Error("one bad file stopped the import")
		}
	})
}
