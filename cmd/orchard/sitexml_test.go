package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/sqlite"
)

func openXMLTestStore(t *testing.T) orchard.Store {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "orchard.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSiteExportImport(t *testing.T) {
	ctx := t.Context()
	src := openXMLTestStore(t)
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

	dst := openXMLTestStore(t)
	t.Run("ImportNeedsCreate", func(t *testing.T) {
		err := runSiteImport(ctx, dst, host, file, false, false, nil, &bytes.Buffer{})
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "add -c") {
			t.Errorf("import of a missing site without -c = %v (exit %d), want a usage error naming -c", err, exitCode(err))
		}
	})

	t.Run("ImportCreate", func(t *testing.T) {
		var progress bytes.Buffer
		if err := runSiteImport(ctx, dst, host, file, true, false, nil, &progress); err != nil {
			t.Fatalf("import: %v", err)
		}
		want := "Setting up\nConnected to database\nRead 5 categories, " // then counts
		if !strings.HasPrefix(progress.String(), want) {
			t.Errorf("import printed:\n%s\nwant it to start with:\n%s", progress.String(), want)
		}
		for _, step := range []string{"Creating tables for " + host, "importing data", "Created tables", "Committed tables", "done importing data"} {
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
		err := runSiteImport(ctx, dst, host, file, true, false, nil, &bytes.Buffer{})
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "--replace") {
			t.Errorf("import over an existing site = %v, want a usage error naming --replace", err)
		}
		var progress bytes.Buffer
		if err := runSiteImport(ctx, dst, host, "-", false, true, bytes.NewReader(mustRead(t, file)), &progress); err != nil {
			t.Fatalf("import --replace from stdin: %v", err)
		}
		if !strings.Contains(progress.String(), "Replacing all content of "+host) {
			t.Errorf("replace printed:\n%s", progress.String())
		}
	})

	t.Run("ImportOtherHostRefused", func(t *testing.T) {
		err := runSiteImport(ctx, dst, "other.example", file, true, false, nil, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), `holds the site "`+host+`", not "other.example"`) {
			t.Errorf("import under another host = %v", err)
		}
		if _, err := dst.Site(ctx, "other.example"); orchard.ErrorCode(err) != orchard.ENOTFOUND {
			t.Errorf("refused import created the site: %v", err)
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
		err := runSiteImport(ctx, dst, host, broken, true, true, nil, &bytes.Buffer{})
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
