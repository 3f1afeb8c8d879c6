package xmlio_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/xmlio"
)

// brokenFiles maps each file under testdata/broken/ to the exact message
// Decode must give for it.
var brokenFiles = map[string]string{
	"asset-base64.xml":           `line 4: <asset path="/a.css">: invalid base64 content`,
	"asset-size.xml":             `line 4: <asset path="/a.css">: content is 4 bytes, size says 10`,
	"bad-alias.xml":              `line 4: <alias host="a b.com">: Host "a b.com" contains a space or control character.`,
	"bad-host.xml":               `line 2: <orchard-site host="../etc">: Host "../etc" is invalid: it has an empty label.`,
	"bad-time.xml":               `line 4: <page path="/a/">: created: invalid time "yesterday" (want RFC 3339, e.g. 2026-01-04T17:15:00Z)`,
	"bad-utf8.xml":               `line 4: <title>: invalid UTF-8`,
	"billion-laughs.xml":         `line 2: <!DOCTYPE ...> is not allowed: the format has no DTD or entity declarations`,
	"body-element.xml":           `line 4: <b>: text elements cannot hold elements`,
	"dotdot-path.xml":            `line 4: <page path="/a/../../etc/">: Path "/a/../../etc/" has an empty, '.' or '..' segment.`,
	"duplicate-alias.xml":        `line 5: <alias host="WWW.example.com.">: duplicate alias "www.example.com" (first at line 4)`,
	"duplicate-path.xml":         `line 10: <page path="/a/">: duplicate page "/a/" (first at line 4)`,
	"empty.xml":                  `line 1: the file has no <orchard-site> element`,
	"external-entity.xml":        `line 2: <!DOCTYPE ...> is not allowed: the format has no DTD or entity declarations`,
	"latin1.xml":                 `line 1: the file must be encoded in UTF-8, not "ISO-8859-1"`,
	"missing-category.xml":       `line 4: <page path="/news/a/">: its category "/news/" is not in the file`,
	"missing-parent.xml":         `line 4: <category path="/news/tech/">: its parent category "/news/" is not in the file`,
	"namespace.xml":              `line 2: <orchard-site host="example.com">: namespaces are not allowed`,
	"no-settings.xml":            `line 2: <orchard-site>: the <settings> element is missing`,
	"no-version.xml":             `line 2: <orchard-site host="example.com">: the version attribute is missing`,
	"page-is-category.xml":       `line 4: <page path="/news/">: "/news/" is both a page and a category (the category is at line 5)`,
	"redirect-from-url.xml":      `line 4: <redirect from="http://evil.example/a/">: Redirect from "http://evil.example/a/": it must be a path starting with a single '/', not a URL.`,
	"redirect-twice.xml":         `line 5: <redirect from="/a//">: duplicate redirect "/a/" (first at line 4)`,
	"redirect-header.xml":        `line 4: <redirect from="/a/">: Redirect from "/a/": The target "/b/\r\nSet-Cookie: x=1" has a space, backslash or control character.`,
	"page-no-title.xml":          `line 4: <page path="/a/">: Title is required.`,
	"processing-instruction.xml": `line 3: <orchard-site host="example.com">: processing instruction <?php?> is not allowed`,
	"second-root.xml":            `line 5: <orchard-site host="example.com">: a second root element`,
	"text-in-site.xml":           `line 5: <orchard-site host="example.com">: unexpected text "stray text"`,
	"truncated.xml":              `line 6: <body>: the file ends before the element is closed (is it truncated?)`,
	"two-settings.xml":           `line 4: <settings>: given twice (first at line 3)`,
	"undeclared-entity.xml":      `line 3: <title>: invalid character entity &lol9;`,
	"unknown-attribute.xml":      `line 4: <page path="/a/">: unknown attribute "onclick"`,
	"unknown-element.xml":        `line 4: <script>: unknown element`,
	"user-hash.xml":              `line 4: <user name="admin">: password-hash must be printable ASCII of at most 512 bytes`,
	"wrong-root.xml":             `line 2: <site host="example.com">: the root element must be <orchard-site>`,
	"wrong-version.xml":          `line 2: <orchard-site host="example.com">: unsupported version "2" (this orchard reads version 1)`,
	// The line of the <template> element, then render's message with the
	// line inside the template.
	"bad-template.xml": `line 4: <template name="layouts/post.html">: Template layouts/post.html:4: unexpected EOF`,
}

// checkInvalid fails unless err is an EINVALID *orchard.Error with message want.
func checkInvalid(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Decode succeeded, want error %q", want)
	}
	if code := orchard.ErrorCode(err); code != orchard.EINVALID {
		t.Errorf("error code = %q (%v), want %q", code, err, orchard.EINVALID)
	}
	if got := orchard.ErrorMessage(err); got != want {
		t.Errorf("error message:\n got %s\nwant %s", got, want)
	}
}

func TestDecodeBrokenFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/broken/*.xml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(brokenFiles) {
		t.Errorf("testdata/broken has %d files, the table %d: keep them in step", len(files), len(brokenFiles))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".xml"), func(t *testing.T) {
			want, ok := brokenFiles[name]
			if !ok {
				t.Fatalf("no expected error for %s", name)
			}
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			_, err = xmlio.Decode(context.Background(), fh, xmlio.Limits{}, nil)
			checkInvalid(t, err, want)
		})
	}
}

// siteWith returns a minimal valid file with body inserted inside the root.
func siteWith(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<orchard-site version="1" host="example.com">
  <settings><title>T</title></settings>
` + body + `
</orchard-site>
`
}

// bigBody streams a file whose one page body is n bytes, without holding
// the file in memory.
func bigBody(n int64) io.Reader {
	return io.MultiReader(
		strings.NewReader(`<?xml version="1.0" encoding="UTF-8"?>
<orchard-site version="1" host="example.com">
  <settings><title>T</title></settings>
  <page path="/big/"><title>Big</title><body>`),
		io.LimitReader(repeatReader('a'), n),
		strings.NewReader("</body></page>\n</orchard-site>\n"),
	)
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestDecodeLimits(t *testing.T) {
	var many string
	for i := range 20 {
		many += fmt.Sprintf("  <alias host=\"a%d.example.com\"/>\n", i)
	}
	tests := []struct {
		name string
		in   io.Reader
		lim  xmlio.Limits
		want string
	}{
		{"Body50MB", bigBody(50 << 20), xmlio.Limits{},
			`line 4: <body>: element is larger than the limit of 32 MiB`},
		{"BodyOverMaxBodyLen", bigBody(orchard.MaxBodyLen + 1), xmlio.Limits{},
			`line 4: <page path="/big/">: Body is longer than 4194304 bytes.`},
		{"Elements", strings.NewReader(siteWith(many)), xmlio.Limits{MaxElements: 10},
			`line 11: <alias host="a7.example.com">: the file has more than the limit of 10 elements`},
		{"TotalBytes", strings.NewReader(siteWith(many)), xmlio.Limits{MaxBytes: 300},
			`line 9: <orchard-site host="example.com">: the file is larger than the limit of 300 bytes`},
		{"TokenBytes", strings.NewReader(siteWith(`  <page path="/a/"><title>` + strings.Repeat("x", 200) + `</title></page>`)), xmlio.Limits{MaxTokenBytes: 100},
			`line 4: <title>: element is larger than the limit of 100 bytes`},
		{"TagBytes", strings.NewReader(siteWith(`  <page path="/a/" layout="` + strings.Repeat("x", 200) + `"/>`)), xmlio.Limits{MaxTokenBytes: 100},
			`line 4: <orchard-site host="example.com">: element is larger than the limit of 100 bytes`},
		{"ManyAttributes", strings.NewReader(siteWith(`  <page path="/a/"` + strings.Repeat(` a=""`, 20000) + `/>`)), xmlio.Limits{},
			`line 4: <orchard-site host="example.com">: tag is larger than the limit of 64 KiB`},
		{"ManyAttributesNoSpace", strings.NewReader(siteWith("")[:len(siteWith(""))-len("\n</orchard-site>\n")] + `<page path="/a/"` + strings.Repeat(` a=""`, 20000) + `/>`), xmlio.Limits{},
			`line 4: <orchard-site host="example.com">: tag is larger than the limit of 64 KiB`},
		{"BigComment", strings.NewReader(siteWith(`  <!--` + strings.Repeat("x", 100<<10) + `-->`)), xmlio.Limits{}, ""},
		{"BigCDATA", strings.NewReader(siteWith(`  <page path="/a/"><title>A</title><body><![CDATA[` + strings.Repeat("x", 100<<10) + `]]></body></page>`)), xmlio.Limits{}, ""},
		{"TextSplitByComments", strings.NewReader(siteWith(`  <page path="/a/"><title>` + strings.Repeat("xxxxxxxxxx<!---->", 20) + `</title></page>`)), xmlio.Limits{MaxTokenBytes: 100},
			`line 4: <title>: element is larger than the limit of 100 bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := xmlio.Decode(context.Background(), tt.in, tt.lim, nil)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			checkInvalid(t, err, tt.want)
		})
	}
}

func TestDecodeOK(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, c *orchard.SiteContent)
	}{
		{"Minimal", siteWith(""), func(t *testing.T, c *orchard.SiteContent) {
			if c.Site.Host != "example.com" || c.Site.Title != "T" || c.Site.Scheme != "http" || c.Site.FeedSize != orchard.DefaultFeedSize {
				t.Errorf("site = %+v", c.Site)
			}
		}},
		{"HostNormalised", strings.Replace(siteWith(`  <alias host="WWW.Example.COM."/>`), `host="example.com"`, `host="Example.COM:8080"`, 1),
			func(t *testing.T, c *orchard.SiteContent) {
				if c.Site.Host != "example.com" || len(c.Site.Aliases) != 1 || c.Site.Aliases[0] != "www.example.com" {
					t.Errorf("host %q aliases %q", c.Site.Host, c.Site.Aliases)
				}
			}},
		{"ByteOrderMarkAndComments", "\xef\xbb\xbf" + strings.Replace(siteWith(`  <!-- a comment -->
  <page path="/a/"><title>A<!-- inside -->B</title><body><![CDATA[<p>]]>&amp;<![CDATA[</p>]]></body></page>`), "?>", "?><!-- exported by hand -->", 1),
			func(t *testing.T, c *orchard.SiteContent) {
				if len(c.Pages) != 1 || c.Pages[0].Title != "AB" || c.Pages[0].Body != "<p>&</p>" {
					t.Errorf("pages = %+v", c.Pages)
				}
			}},
		{"DefaultsFilled", siteWith(`  <category path="/n/"><title>N</title></category>
  <page path="/n/p/" category="/n/"><title>P</title></page>
  <page path="/about/"><title>About</title></page>
  <user name="admin"/>`), func(t *testing.T, c *orchard.SiteContent) {
			if p := c.Pages[0]; p.Path != "/about/" || p.Layout != orchard.LayoutPage || p.Format != orchard.FormatMarkdown || p.Published {
				t.Errorf("page = %+v", p)
			}
			if p := c.Pages[1]; p.Layout != orchard.LayoutPost {
				t.Errorf("post layout = %q", p.Layout)
			}
			if u := c.Users[0]; u.Site != "example.com" || u.PasswordHash != xmlio.LockedPasswordHash {
				t.Errorf("user = %+v", u)
			}
		}},
		{"FrontMatterStripped", siteWith(`  <page path="/fm/"><body>---
title: From front matter
description: Pasted
draft: true
---
# Heading
</body></page>
  <page path="/kept/" published="true"><title>Own title</title><body>+++
title = 'Ignored'
+++
Text</body></page>
  <page path="/html/" format="html"><title>H</title><body>---
title: x
---
</body></page>
  <page path="/rule/"><title>R</title><body>---
just a rule
---
</body></page>`), func(t *testing.T, c *orchard.SiteContent) {
			byPath := map[string]orchard.Page{}
			for _, p := range c.Pages {
				byPath[p.Path] = p
			}
			if p := byPath["/fm/"]; p.Title != "From front matter" || p.Description != "Pasted" || p.Body != "# Heading\n" || p.Published {
				t.Errorf("front matter page = %+v", p)
			}
			if p := byPath["/kept/"]; p.Title != "Own title" || p.Body != "Text" || !p.Published {
				t.Errorf("the element's own title and published must stand: %+v", p)
			}
			if p := byPath["/html/"]; !strings.HasPrefix(p.Body, "---") {
				t.Errorf("an HTML body lost its first lines: %q", p.Body)
			}
			if p := byPath["/rule/"]; !strings.HasPrefix(p.Body, "---\njust a rule") {
				t.Errorf("a block that is not front matter was taken: %q", p.Body)
			}
		}},
		{"Sorted", siteWith(`  <page path="/z/"><title>Z</title></page>
  <page path="/a/"><title>A</title></page>`), func(t *testing.T, c *orchard.SiteContent) {
			if c.Pages[0].Path != "/a/" || c.Pages[1].Path != "/z/" {
				t.Errorf("pages not sorted: %s, %s", c.Pages[0].Path, c.Pages[1].Path)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := xmlio.Decode(context.Background(), strings.NewReader(tt.in), xmlio.Limits{}, nil)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestDecodeCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := xmlio.Decode(ctx, bytes.NewReader(export(t, fixture(), xmlio.ExportOptions{})), xmlio.Limits{}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Decode with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestDecodeReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	in := io.MultiReader(strings.NewReader(siteWith("")[:60]), &failReader{boom})
	_, err := xmlio.Decode(context.Background(), in, xmlio.Limits{}, nil)
	if !errors.Is(err, boom) {
		t.Errorf("Decode = %v, want the reader's error", err)
	}
}

type failReader struct{ err error }

func (r *failReader) Read([]byte) (int, error) { return 0, r.err }

func TestDecodeProgress(t *testing.T) {
	c := fixture()
	c.Assets = append(c.Assets, orchard.Asset{Path: "/big.bin", ContentType: "application/octet-stream", Data: bytes.Repeat([]byte("0123456789"), 200_000)})
	data := export(t, c, xmlio.ExportOptions{})
	var calls []int64
	if _, err := xmlio.Decode(context.Background(), bytes.NewReader(data), xmlio.Limits{}, func(n int64) { calls = append(calls, n) }); err != nil {
		t.Fatal(err)
	}
	if len(calls) < 2 {
		t.Fatalf("progress called %d times, want several", len(calls))
	}
	for i := 1; i < len(calls); i++ {
		if calls[i] < calls[i-1] {
			t.Errorf("progress went backwards: %v", calls)
		}
	}
	if last := calls[len(calls)-1]; last != int64(len(data)) {
		t.Errorf("last progress = %d, want the file size %d", last, len(data))
	}
}
