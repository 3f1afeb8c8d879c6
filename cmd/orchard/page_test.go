package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
)

func TestPageCommand(t *testing.T) {
	cfg := testCluster(t)
	mustCLI(t, cfg, "", "site", "-s", "example.com", "-c")
	mustCLI(t, cfg, "", "category", "-s", "example.com", "put", "/news/", "--title", "News")

	t.Run("Put", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			args []string
			path string
		}{
			{"SlugInCategory", []string{"put", "hello", "--category", "news", "--title", "Hello"}, "/news/hello/"},
			{"NoTrailingSlash", []string{"put", "/about", "--title", "About"}, "/about/"},
			{"TopSlug", []string{"put", "contact", "--title", "Contact", "--format", "html"}, "/contact/"},
			{"Home", []string{"put", "/", "--title", "Home", "--layout", "home"}, "/"},
			{"InferredCategory", []string{"put", "/news/second/", "--title", "Second", "--draft"}, "/news/second/"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				args := append([]string{"page", "-s", "example.com"}, tc.args...)
				out := mustCLI(t, cfg, "body of "+tc.path, args...)
				if !strings.Contains(out, "Created page "+tc.path) {
					t.Errorf("put printed %q, want the path %s", out, tc.path)
				}
			})
		}
	})
	t.Run("Get", func(t *testing.T) {
		body := "# Title\n\nquotes ' \" and NUL \x00 and 🍎\n"
		mustCLI(t, cfg, body, "page", "-s", "example.com", "put", "exact", "--category", "/news/", "--title", "Exact", "--description", "D")
		if got := mustCLI(t, cfg, "", "page", "-s", "example.com", "get", "/news/exact/"); got != body {
			t.Errorf("get printed %q, want %q", got, body)
		}
		var p orchard.Page
		if err := json.Unmarshal([]byte(mustCLI(t, cfg, "", "page", "-s", "example.com", "get", "news/exact", "--json")), &p); err != nil {
			t.Fatal(err)
		}
		if p.Path != "/news/exact/" || p.Category != "/news/" || p.Title != "Exact" || p.Description != "D" ||
			!p.Published || p.Layout != "post" || p.Body != body {
			t.Errorf("get --json: %+v", p)
		}
		second := mustCLI(t, cfg, "", "page", "-s", "example.com", "get", "/news/second/", "--json")
		if !strings.Contains(second, `"Category": "/news/"`) || !strings.Contains(second, `"Published": false`) {
			t.Errorf("page in a category's directory: %s", second)
		}
	})
	t.Run("Replace", func(t *testing.T) {
		out := mustCLI(t, cfg, "new body", "page", "-s", "example.com", "put", "/about/")
		if !strings.Contains(out, "Replaced page /about/") {
			t.Errorf("replace printed %q", out)
		}
		var p orchard.Page
		json.Unmarshal([]byte(mustCLI(t, cfg, "", "page", "-s", "example.com", "get", "/about/", "--json")), &p)
		if p.Title != "About" || p.Body != "new body" {
			t.Errorf("replace without --title: title %q body %q", p.Title, p.Body)
		}
	})
	t.Run("FrontMatter", func(t *testing.T) {
		getPage := func(path string) orchard.Page {
			t.Helper()
			var p orchard.Page
			if err := json.Unmarshal([]byte(mustCLI(t, cfg, "", "page", "-s", "example.com", "get", path, "--json")), &p); err != nil {
				t.Fatal(err)
			}
			return p
		}
		yaml := "---\ntitle: From YAML\ndate: 2024-05-01\ndraft: true\ndescription: Said in YAML\ncategory: /news/\n---\n# Body\n"
		out := mustCLI(t, cfg, yaml, "page", "-s", "example.com", "put", "fm")
		if !strings.Contains(out, "Created page /news/fm/ (draft, 2024-05-01,") {
			t.Errorf("put with front matter printed %q", out)
		}
		p := getPage("/news/fm/")
		if p.Title != "From YAML" || p.Description != "Said in YAML" || p.Published || p.Category != "/news/" ||
			p.Body != "# Body\n" || p.Created.Format("2006-01-02") != "2024-05-01" {
			t.Errorf("page from YAML front matter: %+v", p)
		}
		// Flags win over front matter, and --date moves an existing page.
		toml := "+++\ntitle = 'From TOML'\ndate = 2023-01-02\ndraft = true\n+++\nbody"
		mustCLI(t, cfg, toml, "page", "-s", "example.com", "put", "/news/fm/", "--title", "Flag title", "--draft=false", "--date", "2022-03-04 05:06")
		p = getPage("/news/fm/")
		if p.Title != "Flag title" || !p.Published || p.Body != "body" || !p.Created.Equal(time.Date(2022, 3, 4, 5, 6, 0, 0, time.UTC)) {
			t.Errorf("flags over TOML front matter: %+v", p)
		}
		// Without a date the page keeps the one it has.
		mustCLI(t, cfg, "plain", "page", "-s", "example.com", "put", "/news/fm/")
		if p = getPage("/news/fm/"); !p.Created.Equal(time.Date(2022, 3, 4, 5, 6, 0, 0, time.UTC)) {
			t.Errorf("replace without a date moved Created to %v", p.Created)
		}
		wantExit(t, runCLI(t, cfg, "---\ntitle: T\ncategory: /blog/\n---\n", "page", "-s", "example.com", "put", "x"), 1,
			"Create it first: orchard category -s example.com put /blog/ --title TITLE")
		wantExit(t, runCLI(t, cfg, "---\ndate: soon\n---\n", "page", "-s", "example.com", "put", "/bad/", "--title", "B"), 2, "date")
		wantExit(t, runCLI(t, cfg, "x", "page", "-s", "example.com", "put", "/bad/", "--title", "B", "--date", "May 1"), 2, "--date")
	})
	t.Run("Ls", func(t *testing.T) {
		out := mustCLI(t, cfg, "", "page", "-s", "example.com", "ls")
		for _, re := range []string{
			`PATH\s+TITLE\s+PUBLISHED\s+UPDATED`,
			`\n/\s+Home\s+yes\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`,
			`\n/news/second/\s+Second\s+draft\s+`,
		} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("ls output does not match %s:\n%s", re, out)
			}
		}
		out = mustCLI(t, cfg, "", "page", "-s", "example.com", "ls", "--category", "news", "--published")
		if strings.Contains(out, "/about/") || strings.Contains(out, "/news/second/") || !strings.Contains(out, "/news/hello/") {
			t.Errorf("ls --category news --published:\n%s", out)
		}
	})
	t.Run("Rm", func(t *testing.T) {
		out := mustCLI(t, cfg, "", "page", "-s", "example.com", "rm", "contact")
		if !strings.Contains(out, "Removed page /contact/") {
			t.Errorf("rm printed %q", out)
		}
		wantExit(t, runCLI(t, cfg, "", "page", "-s", "example.com", "get", "/contact/"), 1, `Page "/contact/" not found.`)
		wantExit(t, runCLI(t, cfg, "", "page", "-s", "example.com", "rm", "/contact/"), 1, "not found")
	})
	t.Run("Errors", func(t *testing.T) {
		wantExits(t, cfg, "body", nil, []exitCase{
			{"NoSite", []string{"page", "ls"}, 2, "-s/--site"},
			{"BadSite", []string{"page", "-s", "../x", "ls"}, 2, "invalid"},
			{"MissingSite", []string{"page", "-s", "missing.example", "ls"}, 1, "not found"},
			{"NoTitle", []string{"page", "-s", "example.com", "put", "/new/"}, 2, "--title is required"},
			{"MissingCategory", []string{"page", "-s", "example.com", "put", "x", "--category", "/blog/", "--title", "X"}, 1,
				"Category /blog/ does not exist: a page goes into an existing category"},
			{"DotDot", []string{"page", "-s", "example.com", "put", "/../etc/", "--title", "X"}, 2, "'..'"},
			{"Upper", []string{"page", "-s", "example.com", "get", "/About/"}, 2, "lower-case"},
			{"Format", []string{"page", "-s", "example.com", "put", "/f/", "--title", "F", "--format", "rst"}, 2, "markdown or html"},
			{"Layout", []string{"page", "-s", "example.com", "put", "/f/", "--title", "F", "--layout", "../x"}, 2, "Layout"},
			{"OutsideCategory", []string{"page", "-s", "example.com", "put", "/blog/x/", "--category", "/news/", "--title", "X"}, 2, "inside its category"},
			{"AtCategoryPath", []string{"page", "-s", "example.com", "put", "/news/", "--title", "X"}, 1, "category already has"},
			{"NoArgs", []string{"page", "-s", "example.com", "get"}, 2, "PATH"},
			{"NoSubcommand", []string{"page", "-s", "example.com"}, 2, "subcommand"},
		}, nil)
	})
}

func TestCategoryCommand(t *testing.T) {
	cfg := testCluster(t)
	mustCLI(t, cfg, "", "site", "-s", "example.com", "-c")
	run := func(args ...string) string {
		t.Helper()
		return mustCLI(t, cfg, "", append([]string{"category", "-s", "example.com"}, args...)...)
	}
	if out := run("put", "news", "--title", "News", "--description", "All news"); !strings.Contains(out, "Created category /news/") {
		t.Errorf("put printed %q", out)
	}
	run("put", "/news/tech/", "--title", "Tech", "--sort", "2")
	if out := run("put", "/news/", "--sort", "5"); !strings.Contains(out, "Updated category /news/") {
		t.Errorf("update printed %q", out)
	}
	mustCLI(t, cfg, "x", "page", "-s", "example.com", "put", "a", "--category", "/news/", "--title", "A")
	out := run("ls")
	if !regexp.MustCompile(`/news/\s+News\s+1\s+5\s*\n/news/tech/\s+Tech\s+0\s+2`).MatchString(out) {
		t.Errorf("ls:\n%s", out)
	}
	wantExits(t, cfg, "", []string{"category", "-s", "example.com"}, []exitCase{
		{"MissingParent", []string{"put", "/blog/x/", "--title", "X"}, 1, "Parent category"},
		{"NoTitle", []string{"put", "/new/"}, 2, "--title is required"},
		{"Root", []string{"put", "/", "--title", "X"}, 2, "top of the site"},
		{"HasChild", []string{"rm", "/news/"}, 1, "child categories"},
		{"DotDot", []string{"rm", "/news/tech/x/../"}, 2, "'..'"},
		{"Missing", []string{"rm", "/nope/"}, 1, "not found"},
	}, nil)
	run("rm", "/news/tech/")
	wantExit(t, runCLI(t, cfg, "", "category", "-s", "example.com", "rm", "/news/"), 1, "still has pages")
	mustCLI(t, cfg, "", "page", "-s", "example.com", "rm", "/news/a/")
	if out := run("rm", "news"); !strings.Contains(out, "Removed category /news/") {
		t.Errorf("rm printed %q", out)
	}
}

// FuzzContentPath checks that whatever a user types as a page or category
// path either is refused or becomes a valid content path.
func FuzzContentPath(f *testing.F) {
	for _, s := range []string{"hello", "/about", "news/x", "/", "", "..", "/../etc", "a//b", "%2e%2e", "x\x00y", "/News/"} {
		f.Add(s, "/news/")
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, arg, category string) {
		cat, err := categoryArg(category)
		if err != nil {
			return
		}
		if cat != "" && orchard.ValidateContentPath(cat, true) != nil {
			t.Fatalf("categoryArg(%q) = %q, not a valid path", category, cat)
		}
		p, err := contentPath(arg, cat)
		if err != nil {
			if exitCode(err) != 2 {
				t.Fatalf("contentPath(%q): %v is not a usage error", arg, err)
			}
			return
		}
		if err := orchard.ValidateContentPath(p, true); err != nil {
			t.Fatalf("contentPath(%q, %q) = %q: %v", arg, cat, p, err)
		}
	})
}
