package xmlio_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/render"
	"github.com/orchardhq/orchard/xmlio"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fixture returns a small site that uses every field and the awkward values
// the format must carry exactly: quotes, markup, Unicode, carriage returns,
// NUL and invalid UTF-8 (base64-encoded), binary assets.
func fixture() *orchard.SiteContent {
	t0 := time.Date(2026, 1, 4, 17, 15, 0, 123456789, time.UTC)
	t1 := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
	return &orchard.SiteContent{
		Site: orchard.Site{
			Host: "example.com", Aliases: []string{"www.example.com", "alt.example.com"},
			Title: `Quotes "and" <markup> & ampersands`, Description: "Ünïcødé — 日本語 🍎",
			Scheme: "https", CacheControl: "public, max-age=300", FeedSize: 10,
			Redirects: []orchard.Redirect{
				{From: "/old.html", To: "https://example.org/new?a=1&b=\"2\""},
				{From: "/2019/01/caf%C3%A9/", To: "/news/"},
			},
			Created: t0, Updated: t1,
		},
		Categories: []orchard.Category{
			{Path: "/news/tech/", Title: "Tech", Sort: 2, Created: t0, Updated: t1},
			{Path: "/news/", Title: "News", Description: "What is new.", Sort: 1, Created: t0, Updated: t1},
		},
		Pages: []orchard.Page{
			{Path: "/news/hello/", Title: "Hello", Category: "/news/", Layout: "post", Format: "markdown",
				Body:        "# Hello\r\nWindows line\rends, tabs\tand  spaces  \n\n  leading and trailing  \n",
				Description: "A <b>post</b>", Published: true, Created: t0, Updated: t1},
			{Path: "/", Title: "Home", Layout: "page", Format: "html", Body: "<p>Welcome &amp; more</p>", Published: true, Created: t0, Updated: t0},
			{Path: "/news/tech/nul/", Title: "Hostile \x00 title", Category: "/news/tech/", Layout: "post", Format: "markdown",
				Body: "NUL \x00 byte, bell \x07, U+FFFF \uffff", Created: t0, Updated: t1},
			{Path: "/draft/", Title: "Draft", Layout: "page", Format: "markdown"},
		},
		Templates: []orchard.Template{
			{Name: "partials/navbar.html", Body: `<nav>{{range .Menu}}<a href="{{.Path}}">{{.Title}}</a>{{end}}</nav>`, Updated: t1},
			{Name: "layouts/post.html", Body: "{{template \"partials/navbar.html\" .}}\n<h1>{{.Page.Title}}</h1>\n", Updated: t0},
		},
		Assets: []orchard.Asset{
			{Path: "/theme/style.css", ContentType: "text/css; charset=utf-8", Data: []byte("body { margin: 0 }\n"), Updated: t0},
			{Path: "/img/bin.dat", ContentType: "application/octet-stream", Data: bytes.Repeat([]byte{0, 1, 2, 0xff, '<', '&'}, 40), Updated: t1},
			{Path: "/empty.txt", ContentType: "text/plain", Data: []byte{}, Updated: t1},
		},
		Users: []orchard.User{
			{Site: "example.com", Name: "editor", PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA", Created: t0},
			{Site: "example.com", Name: "admin", PasswordHash: "$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234", Created: t1},
		},
	}
}

func export(t testing.TB, c *orchard.SiteContent, opts xmlio.ExportOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := xmlio.Export(context.Background(), &buf, c, opts); err != nil {
		t.Fatalf("Export: %v", err)
	}
	return buf.Bytes()
}

func decode(t testing.TB, data []byte) *orchard.SiteContent {
	t.Helper()
	c, err := xmlio.Decode(context.Background(), bytes.NewReader(data), xmlio.Limits{}, nil)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return c
}

// golden compares got with testdata/NAME, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("export differs from %s (run with -update if the change is intended):\n%s", path, firstDiff(got, want))
	}
}

// firstDiff shows the first line where a and b differ.
func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(la) || i < len(lb); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + x + "\nwant: " + y
		}
	}
	return "(no line differs)"
}

// sorted returns a sorted copy of items.
func sorted[T any](items []T, key func(T) string) []T {
	out := slices.Clone(items)
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	return out
}

func TestExportGolden(t *testing.T) {
	golden(t, "golden/site.xml", export(t, fixture(), xmlio.ExportOptions{}))
	golden(t, "golden/site-secrets.xml", export(t, fixture(), xmlio.ExportOptions{WithSecrets: true}))
}

// want returns c as Decode gives it back: sorted, users locked unless
// secrets were exported, empty asset data as nil.
func want(c *orchard.SiteContent, secrets bool) *orchard.SiteContent {
	w := *c
	w.Site.Aliases = append([]string(nil), c.Site.Aliases...)
	slices.Sort(w.Site.Aliases)
	w.Site.Redirects = sorted(c.Site.Redirects, func(x orchard.Redirect) string { return x.From })
	w.Categories = sorted(c.Categories, func(x orchard.Category) string { return x.Path })
	w.Pages = sorted(c.Pages, func(x orchard.Page) string { return x.Path })
	w.Templates = sorted(c.Templates, func(x orchard.Template) string { return x.Name })
	w.Assets = sorted(c.Assets, func(x orchard.Asset) string { return x.Path })
	w.Users = sorted(c.Users, func(x orchard.User) string { return x.Name })
	for i := range w.Users {
		w.Users[i].Site = c.Site.Host
		if !secrets {
			w.Users[i].PasswordHash = xmlio.LockedPasswordHash
		}
	}
	for i := range w.Assets {
		if len(w.Assets[i].Data) == 0 {
			w.Assets[i].Data = []byte{}
		}
	}
	return &w
}

func TestRoundTrip(t *testing.T) {
	sites := map[string]*orchard.SiteContent{"fixture": fixture()}
	for _, s := range sample.Sites() {
		if err := s.Site.Validate(); err != nil {
			t.Fatal(err)
		}
		for i := range s.Pages {
			if err := s.Pages[i].Validate(); err != nil {
				t.Fatal(err)
			}
		}
		sites[s.Site.Host] = s
	}
	withDefaults := sample.Sites()[1]
	withDefaults.Templates = render.DefaultTemplates()
	withDefaults.Assets = render.DefaultTheme()
	if err := withDefaults.Site.Validate(); err != nil {
		t.Fatal(err)
	}
	for i := range withDefaults.Pages {
		withDefaults.Pages[i].Validate()
	}
	sites["defaults"] = withDefaults
	for name, c := range sites {
		for _, secrets := range []bool{false, true} {
			t.Run(name+map[bool]string{false: "", true: "/secrets"}[secrets], func(t *testing.T) {
				opts := xmlio.ExportOptions{WithSecrets: secrets}
				first := export(t, c, opts)
				got := decode(t, first)
				if w := want(c, secrets); !reflect.DeepEqual(got, w) {
					t.Errorf("Decode(Export(c)) differs from c:\n got %+v\nwant %+v", got, w)
				}
				if second := export(t, got, opts); !bytes.Equal(first, second) {
					t.Errorf("export -> decode -> export is not identical:\n%s", firstDiff(second, first))
				}
			})
		}
	}
}

func TestExportDoesNotModify(t *testing.T) {
	c := fixture()
	export(t, c, xmlio.ExportOptions{})
	if !reflect.DeepEqual(c, fixture()) {
		t.Error("Export changed its input")
	}
}

func TestExportCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := xmlio.Export(ctx, &bytes.Buffer{}, fixture(), xmlio.ExportOptions{}); err != context.Canceled {
		t.Errorf("Export with a cancelled context = %v, want context.Canceled", err)
	}
}
