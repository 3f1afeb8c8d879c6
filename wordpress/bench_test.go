package wordpress_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/render"
	"github.com/orchardhq/orchard/sqlite"
	"github.com/orchardhq/orchard/wordpress"
)

// genWXR writes a WordPress export of posts posts (about 3 KB of HTML
// each, with internal links and a [caption]) in 20 categories, each with
// two tags, at /YYYY/MM/slug/ permalinks (so every post moves and gets a
// redirect).
func genWXR(posts int) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
	<title>Generated</title>
	<link>https://gen.example.org</link>
	<wp:wxr_version>1.2</wp:wxr_version>
	<wp:base_site_url>https://gen.example.org</wp:base_site_url>
	<wp:author><wp:author_id>1</wp:author_id><wp:author_login><![CDATA[ann]]></wp:author_login><wp:author_display_name><![CDATA[Ann]]></wp:author_display_name></wp:author>
`)
	for c := 0; c < 20; c++ {
		fmt.Fprintf(&b, "\t<wp:category><wp:term_id>%d</wp:term_id><wp:category_nicename><![CDATA[cat-%d]]></wp:category_nicename><wp:category_parent><![CDATA[]]></wp:category_parent><wp:cat_name><![CDATA[Category %d]]></wp:cat_name></wp:category>\n", c+2, c, c)
	}
	para := strings.Repeat("Apples and pears grow on the hill, and the cider press waits for autumn. ", 6)
	for i := 0; i < posts; i++ {
		month := 1 + i%12
		fmt.Fprintf(&b, `	<item>
		<title>Post %d about apples</title>
		<link>https://gen.example.org/2024/%02d/post-%d/</link>
		<pubDate>Mon, 04 Mar 2024 10:00:00 +0000</pubDate>
		<dc:creator><![CDATA[ann]]></dc:creator>
		<content:encoded><![CDATA[<p>%s</p>

[caption id="attachment_1" align="alignright" width="300"]<img src="https://gen.example.org/wp-content/uploads/a.jpg" alt="" /> A caption[/caption]

See <a href="https://gen.example.org/2024/%02d/post-%d/">the previous post</a> and <a href="https://gen.example.org/category/cat-%d/">its category</a>.

%s

%s

%s]]></content:encoded>
		<excerpt:encoded><![CDATA[Post %d.]]></excerpt:encoded>
		<wp:post_id>%d</wp:post_id>
		<wp:post_date_gmt><![CDATA[2024-%02d-04 09:00:00]]></wp:post_date_gmt>
		<wp:post_name><![CDATA[post-%d]]></wp:post_name>
		<wp:status><![CDATA[publish]]></wp:status>
		<wp:post_type><![CDATA[post]]></wp:post_type>
		<category domain="category" nicename="cat-%d"><![CDATA[Category]]></category>
		<category domain="post_tag" nicename="apples"><![CDATA[Apples]]></category>
		<category domain="post_tag" nicename="tag-%d"><![CDATA[Tag]]></category>
	</item>
`, i, month, i, para, 1+max(i-1, 0)%12, max(i-1, 0), i%20, para, para, para, i, 100+i, month, i, i%20, i%50)
	}
	b.WriteString("</channel>\n</rss>\n")
	return b.Bytes()
}

// cpuTime is the CPU time (user and system) the process has used: on a
// shared, loaded machine it says more than the wall time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkImport10000 measures a 10,000-post export: Parse and Convert
// (what orchard import wordpress does before the store), and the whole
// import into a fresh SQLite store in one transaction (ReplaceSite). It
// reports the CPU time per import beside the wall time (which includes
// waiting for a CPU on a shared machine; opening and closing the store are
// in the CPU time but not the wall time). Run:
//
//	go test -run XXX -bench Import10000 -benchtime 3x ./wordpress
func BenchmarkImport10000(b *testing.B) {
	data := genWXR(10000)
	b.Logf("WXR file: %d posts, %.1f MB", 10000, float64(len(data))/1e6)
	// convert is the import up to the store: parse, convert, and a check
	// that nothing was lost.
	convert := func(b *testing.B) *orchard.SiteContent {
		ex, err := wordpress.Parse(b.Context(), bytes.NewReader(data), 0)
		if err != nil {
			b.Fatal(err)
		}
		c, rep, err := wordpress.Convert(ex, wordpress.Options{Host: "gen.example.com"})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Posts != 10000 || rep.Redirects < 10000 || len(c.Pages) != 10000 {
			b.Fatalf("converted %d posts, %d pages, %d redirects", rep.Posts, len(c.Pages), rep.Redirects)
		}
		return c
	}
	b.Run("ParseConvert", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		cpu := cpuTime(b)
		for b.Loop() {
			convert(b)
		}
		b.ReportMetric((cpuTime(b)-cpu).Seconds()/float64(b.N), "cpu-s/op")
	})
	b.Run("SQLite", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		cpu := cpuTime(b)
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), fmt.Sprintf("orchard-%d.db", i)))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			c := convert(b)
			c.Templates, c.Assets = render.DefaultTemplates(), render.DefaultTheme()
			if err := db.ReplaceSite(b.Context(), c, false); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			db.Close()
			b.StartTimer()
		}
		b.ReportMetric((cpuTime(b)-cpu).Seconds()/float64(b.N), "cpu-s/op")
	})
}

// TestGenWXR: the generator's file converts as the benchmark expects, at a
// size small enough for every test run.
func TestGenWXR(t *testing.T) {
	ex, err := wordpress.Parse(t.Context(), bytes.NewReader(genWXR(30)), 0)
	if err != nil {
		t.Fatal(err)
	}
	c, rep, err := wordpress.Convert(ex, wordpress.Options{Host: "gen.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Posts != 30 || len(c.Pages) != 30 || rep.Captions != 30 || rep.Redirects != 30+20 {
		t.Errorf("30 generated posts: %d posts, %d pages, %d captions, %d redirects", rep.Posts, len(c.Pages), rep.Captions, rep.Redirects)
	}
}
