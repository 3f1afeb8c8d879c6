package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportWordPress: the hand-written WordPress export imports as a new
// site that builds, the output says what was converted and what was not,
// and a second import over the same host is refused.
func TestImportWordPress(t *testing.T) {
	cfg := testCluster(t)
	const file = "../../wordpress/testdata/export.xml"
	out := mustCLI(t, cfg, "", "import", "wordpress", "-s", "hill.example.com", file, "--uploads", "../../wordpress/testdata/uploads")
	wantOutput(t, "import output", out,
		"Read "+file+": 2 posts, 2 pages (1 unpublished), 3 categories, 1 attachments\n",
		"Creating site hill.example.com (one transaction)\n",
		"Converted 1 [caption] shortcodes to figures\n",
		"Left in place (orchard has no shortcodes): [gallery] x1, on /news/harvest/harvest-starts/\n",
		"Authors (orchard pages have none; not imported): Ann Appleby (3), Bob Pear (1)\n",
		"  /news/harvest/harvest-starts/: category:recipes, tag:apples\n",
		`Skipped post "Old rubbish" (40): trash`+"\n",
		"  https://hill.example.org/wp-content/uploads/2024/03/pear.jpg\n",
		"Links to the old site left as they were: https://hill.example.org/feed/\n",
		"  /2024/03/harvest-starts/ -> /news/harvest/harvest-starts/\n",
		"redirect there (301",
	)
	list := mustCLI(t, cfg, "", "page", "-s", "hill.example.com", "ls")
	wantOutput(t, "page list", list, "/about/team/", "/recipes/cider-plans/")
	if build := mustCLI(t, cfg, "", "build", "-s", "hill.example.com"); !strings.Contains(build, "(new)") || strings.Contains(build, "point at nothing") {
		t.Errorf("build of the imported site printed:\n%s", build)
	}
	// Every old URL that moved redirects to its new path.
	redirects := mustCLI(t, cfg, "", "redirect", "-s", "hill.example.com", "ls")
	wantOutput(t, "redirect ls", redirects, "/2024/03/harvest-starts/  /news/harvest/harvest-starts/", "/category/news/harvest/   /news/harvest/")

	t.Run("ErrExists", func(t *testing.T) {
		wantExit(t, runCLI(t, cfg, "", "import", "wordpress", "-s", "hill.example.com", file), 2, "the site already exists")
	})
	t.Run("ErrNotWordPress", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "x.xml")
		os.WriteFile(bad, []byte(`<orchard-site version="1" host="a.example"/>`), 0o600)
		wantExit(t, runCLI(t, cfg, "", "import", "wordpress", "-s", "other.example.com", bad), 1, "not a WordPress export")
		if list := mustCLI(t, cfg, "", "site", "list"); strings.Contains(list, "other.example.com") {
			t.Errorf("a refused import created the site:\n%s", list)
		}
	})
}

// TestImportWordPressDocsExample: the export the README's demo walk-through
// imports does import, and its old post URL redirects.
func TestImportWordPressDocsExample(t *testing.T) {
	cfg := testCluster(t)
	out := mustCLI(t, cfg, "", "import", "wordpress", "-s", "hill.localhost",
		"../../docs/examples/wordpress-export.xml", "--uploads", "../../docs/examples/wordpress-uploads")
	if !strings.Contains(out, "2 posts, 2 pages (1 unpublished), 3 categories, 1 attachments") {
		t.Errorf("import printed:\n%s", out)
	}
	if ls := mustCLI(t, cfg, "", "redirect", "-s", "hill.localhost", "ls"); !strings.Contains(ls, "/2024/03/harvest-starts/  /news/harvest/harvest-starts/") {
		t.Errorf("no redirect for the README's old URL:\n%s", ls)
	}
}
