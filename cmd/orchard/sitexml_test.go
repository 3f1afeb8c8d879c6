package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/internal/sqlitetest"
	"github.com/orchardhq/orchard/release"
)

func TestSiteExportImport(t *testing.T) {
	ctx := t.Context()
	src := sqlitetest.MustOpen(t)
	site := sample.Sites()[0]
	host := site.Site.Host
	site.Users = []orchard.User{{Site: host, Name: "admin", PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA"}}
	if err := src.ReplaceSite(ctx, site, false); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "site.xml")

	t.Run("ExportFile", func(t *testing.T) {
		var out bytes.Buffer
		if err := runSiteExport(ctx, src, host, file, true, &out); err != nil {
			t.Fatalf("export: %v", err)
		}
		if !strings.HasPrefix(out.String(), "Exported "+host+" to "+file) {
			t.Errorf("export printed %q", out.String())
		}
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("export with secrets has mode %v, want 0600", fi.Mode().Perm())
		}
		var stdout bytes.Buffer
		if err := runSiteExport(ctx, src, host, "-", true, &stdout); err != nil {
			t.Fatalf("export to stdout: %v", err)
		}
		data, _ := os.ReadFile(file)
		if !bytes.Equal(stdout.Bytes(), data) {
			t.Error("export to - differs from export to a file")
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("export left %d files in its directory, want 1", len(entries))
		}
	})

	t.Run("ExportMissingSite", func(t *testing.T) {
		err := runSiteExport(ctx, src, "nope.example", filepath.Join(dir, "nope.xml"), false, &bytes.Buffer{})
		if orchard.ErrorCode(err) != orchard.ENOTFOUND || strings.Contains(err.Error(), "code=") {
			t.Errorf("export of a missing site = %v, want a readable ENOTFOUND", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "nope.xml")); !os.IsNotExist(err) {
			t.Error("a failed export left a file")
		}
	})

	dst := sqlitetest.MustOpen(t)
	t.Run("ImportNeedsCreate", func(t *testing.T) {
		err := runSiteImport(ctx, dst, host, file, siteImportMode{}, nil, &bytes.Buffer{})
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "add -c") {
			t.Errorf("import of a missing site without -c = %v (exit %d), want a usage error naming -c", err, exitCode(err))
		}
	})

	t.Run("ImportCreate", func(t *testing.T) {
		var progress bytes.Buffer
		if err := runSiteImport(ctx, dst, host, file, siteImportMode{create: true}, nil, &progress); err != nil {
			t.Fatalf("import: %v", err)
		}
		want := "Setting up\nConnected to database\nRead 5 categories, " // then counts
		if !strings.HasPrefix(progress.String(), want) {
			t.Errorf("import printed:\n%s\nwant it to start with:\n%s", progress.String(), want)
		}
		for _, step := range []string{"Creating site " + host, "importing data", "Created site", "Committed site", "done importing data"} {
			if !strings.Contains(progress.String(), step+"\n") && !strings.Contains(progress.String(), step+" ") {
				t.Errorf("import did not print %q:\n%s", step, progress.String())
			}
		}
		var a, b bytes.Buffer
		runSiteExport(ctx, src, host, "-", true, &a)
		if err := runSiteExport(ctx, dst, host, "-", true, &b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Error("export -> import -> export is not identical")
		}
	})

	t.Run("ImportExistingNeedsReplace", func(t *testing.T) {
		err := runSiteImport(ctx, dst, host, file, siteImportMode{create: true}, nil, &bytes.Buffer{})
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "--replace") {
			t.Errorf("import over an existing site = %v, want a usage error naming --replace", err)
		}
		var progress bytes.Buffer
		if err := runSiteImport(ctx, dst, host, "-", siteImportMode{replace: true}, bytes.NewReader(mustRead(t, file)), &progress); err != nil {
			t.Fatalf("import --replace from stdin: %v", err)
		}
		if !strings.Contains(progress.String(), "Replacing all content of "+host) {
			t.Errorf("replace printed:\n%s", progress.String())
		}
	})

	t.Run("ImportOtherHostOverExistingNeedsReplace", func(t *testing.T) {
		other := &orchard.Site{Host: "other.example", Title: "Other"}
		if err := dst.CreateSite(ctx, other); err != nil {
			t.Fatal(err)
		}
		err := runSiteImport(ctx, dst, "other.example", file, siteImportMode{create: true}, nil, &bytes.Buffer{})
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "--replace") {
			t.Errorf("import of another host's file over an existing site = %v, want a usage error naming --replace", err)
		}
		if got, err := dst.Site(ctx, "other.example"); err != nil || got.Title != "Other" {
			t.Errorf("refused import changed the site: %+v, %v", got, err)
		}
	})

	t.Run("ImportBrokenChangesNothing", func(t *testing.T) {
		data := mustRead(t, file)
		broken := filepath.Join(dir, "broken.xml")
		i := bytes.Index(data, []byte(`<page path="/about/"`))
		data = append(data[:i:i], []byte(`<page path="/../"><title>x</title></page></orchard-site>`)...)
		if err := os.WriteFile(broken, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var before bytes.Buffer
		runSiteExport(ctx, dst, host, "-", true, &before)
		err := runSiteImport(ctx, dst, host, broken, siteImportMode{create: true, replace: true}, nil, &bytes.Buffer{})
		if orchard.ErrorCode(err) != orchard.EINVALID || !strings.Contains(err.Error(), `: <page path="/../">: Path "/../" has an empty`) ||
			strings.Contains(err.Error(), "code=") {
			t.Errorf("import of a broken file = %v", err)
		}
		var after bytes.Buffer
		runSiteExport(ctx, dst, host, "-", true, &after)
		if !bytes.Equal(before.Bytes(), after.Bytes()) {
			t.Error("a refused import changed the site")
		}
	})
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSiteImportUnderAnotherHost: a site exported from example.com and
// imported as staging.example.com builds to the same release files, byte
// for byte, once the host is replaced in the first one's; its aliases are
// dropped unless --keep-aliases, and the step lines say what was renamed.
func TestSiteImportUnderAnotherHost(t *testing.T) {
	const from, to = "example.com", "staging.example.com"
	cfg := testCluster(t)
	dir := filepath.Dir(cfg)
	file := filepath.Join(dir, "site.xml")
	mustCLI(t, cfg, "", "site", "-s", from, "-c", "-i", "--alias", "www."+from)
	mustCLI(t, cfg, "", "category", "-s", from, "put", "/news/", "--title", "News")
	mustCLI(t, cfg, "Read [the news](http://"+from+"/news/) or [this page](https://"+from+"/news/hello/).\n",
		"page", "-s", from, "put", "hello", "--category", "news", "--title", "Hello", "--date", "2026-01-04")
	mustCLI(t, cfg, `<p><a href="//`+from+`/">home</a></p>`,
		"page", "-s", from, "put", "/about/", "--title", "About", "--format", "html", "--date", "2026-01-05")
	mustCLI(t, cfg, "", "site", "-s", from, "--export", file)

	out := mustCLI(t, cfg, "", "site", "-s", to, "-c", "--import", file)
	wantOutput(t, "import output", out,
		file+" holds the site "+from+": importing it as "+to+"\n",
		"Renamed "+from+" (and www."+from+") -> "+to+" in the settings, 2 pages (3 links)\n",
		"Dropped the aliases www."+from+" (they belong to "+from+"; --keep-aliases keeps them)\n",
	)
	if list := mustCLI(t, cfg, "", "site", "list"); !regexp.MustCompile(`staging\.example\.com +- `).MatchString(list) {
		t.Errorf("the imported site kept its aliases:\n%s", list)
	}

	mustCLI(t, cfg, "", "build", "-s", from)
	mustCLI(t, cfg, "", "build", "-s", to)
	rs, err := release.OpenStore(filepath.Join(dir, "master"))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	files := func(host string) map[string]string {
		t.Helper()
		id, err := rs.Latest(host)
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		m, err := rs.Manifest(host, id)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for p, e := range m.Files {
			data, err := rs.Blobs().Get(e.SHA256)
			if err != nil {
				t.Fatalf("%s %s: %v", host, p, err)
			}
			got[p] = string(data)
		}
		return got
	}
	old, imported := files(from), files(to)
	if len(old) != len(imported) {
		t.Errorf("%s has %d files, %s has %d", from, len(old), to, len(imported))
	}
	for p, body := range old {
		want := strings.ReplaceAll(body, from, to)
		if p == "/_orchard/site.json" { // the only file that names the aliases
			want = strings.Replace(want, `"aliases":["www.`+to+`"],`, "", 1)
		}
		if got, ok := imported[p]; !ok {
			t.Errorf("%s has no %s", to, p)
		} else if got != want {
			t.Errorf("%s of %s differs from %s's with the host replaced:\n got %q\nwant %q", p, to, from, got, want)
		}
	}
	if !strings.Contains(imported["/news/hello/index.html"], `href="http://`+to+`/news/"`) {
		t.Errorf("the imported page does not link to its new host:\n%s", imported["/news/hello/index.html"])
	}
	// The sitemap's URLs carry the port the test cluster's balancer listens on.
	if !regexp.MustCompile(`<loc>http://` + regexp.QuoteMeta(to) + `(:\d+)?/news/hello/</loc>`).MatchString(imported["/sitemap.xml"]) {
		t.Errorf("the imported sitemap does not name the new host:\n%s", imported["/sitemap.xml"])
	}

	t.Run("KeepAliases", func(t *testing.T) {
		// Kept aliases clash with the site they came from while it exists.
		wantExit(t, runCLI(t, cfg, "", "site", "-s", "copy."+from, "-c", "--import", file, "--keep-aliases"), 1,
			`Host "www.`+from+`" is already an alias of "`+from+`"`)
		mustCLI(t, cfg, "", "site", "-s", from, "-d", "--yes")
		out := mustCLI(t, cfg, "", "site", "-s", "copy."+from, "-c", "--import", file, "--keep-aliases")
		if strings.Contains(out, "Dropped") {
			t.Errorf("--keep-aliases dropped the aliases:\n%s", out)
		}
		if list := mustCLI(t, cfg, "", "site", "list"); !regexp.MustCompile(`copy\.example\.com +www\.example\.com`).MatchString(list) {
			t.Errorf("the site imported with --keep-aliases has not its aliases:\n%s", list)
		}
	})
	t.Run("KeepAliasesNeedsImport", func(t *testing.T) {
		wantExit(t, runCLI(t, cfg, "", "site", "-s", from, "-c", "--keep-aliases"), 2, "--keep-aliases goes with --import")
	})
}
