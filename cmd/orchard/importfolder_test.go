package main

import (
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// writeBenchHugo runs the generator of bench/peers/build-vs-hugo.sh
// (cmd/gensite -hugo) for pages pages in cats categories, and returns
// every URL Hugo serves for the site it writes: the home page, each
// section and page, the static files, 404.html, the sitemap and the feed.
func writeBenchHugo(t *testing.T, dir, host string, pages, cats int) []string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gensite")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/orchardhq/orchard/cmd/gensite").CombinedOutput(); err != nil {
		t.Fatalf("build gensite: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "-pages", strconv.Itoa(pages), "-categories", strconv.Itoa(cats), "-host", host, "-hugo", dir).CombinedOutput(); err != nil {
		t.Fatalf("gensite -hugo: %v\n%s", err, out)
	}
	urls := []string{"/", "/404.html", "/sitemap.xml", "/index.xml"}
	for _, root := range []string{"content", "static"} {
		err := filepath.WalkDir(filepath.Join(dir, root), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(filepath.Join(dir, root), p)
			rel = "/" + filepath.ToSlash(rel)
			switch {
			case root == "static":
				urls = append(urls, rel)
			case path.Base(rel) == "_index.md":
				urls = append(urls, path.Dir(rel)+"/")
			default:
				urls = append(urls, strings.TrimSuffix(rel, ".md")+"/")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if want := 4 + 1 + cats + pages; len(urls) != want {
		t.Fatalf("gensite wrote %d URLs, want %d: %q", len(urls), want, urls)
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
	// The pages are the Hugo site's, not empty shells: the title and the
	// last paragraph of the Markdown file show on the page.
	md, err := os.ReadFile(filepath.Join(dir, "content", "c01", "p00006.md"))
	if err != nil {
		t.Fatal(err)
	}
	title := regexp.MustCompile(`(?m)^title: "(.*)"$`).FindSubmatch(md)
	paras := strings.Split(strings.TrimSpace(string(md)), "\n\n")
	last := strings.Fields(paras[len(paras)-1])
	if _, body := fetch(t, node+"/c01/p00006/", host); title == nil || !strings.Contains(body, string(title[1])) || !strings.Contains(body, strings.Join(last[:3], " ")) {
		t.Errorf("/c01/p00006/ does not show the page titled %q:\n%.500s", title, body)
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
	wantOutput(t, "import output", out,
		"(Jekyll): 7 pages (1 unpublished), 3 categories, 1 assets, 4 redirects\n",
		"Creating site jekyll.test (one transaction)\n",
		"Left in place (orchard renders no shortcodes or Liquid): {% highlight %} x1, on /jekyll/welcome-to-jekyll/\n",
		"Not imported (templates, configuration, data): Gemfile, _config.yml, _layouts/\n",
		"Skipped _posts/not-a-post.md: a post's file name must be YYYY-MM-DD-title.md\n",
	)
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
