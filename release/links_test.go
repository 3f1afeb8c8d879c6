package release_test

import (
	"context"
	"fmt"
	"testing"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
)

func TestCheckLinks(t *testing.T) {
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	m := &orchard.Manifest{Site: "a.test", Files: map[string]orchard.ManifestEntry{}}
	add := func(key, ct, body string) {
		sha, err := st.Blobs().Put(context.Background(), []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		m.Files[key] = orchard.ManifestEntry{SHA256: sha, Size: int64(len(body)), ContentType: ct}
	}
	add("/index.html", "text/html; charset=utf-8", `<link rel="stylesheet" href="/theme/style.css"><a href="/news/">n</a>
<a href="/news">dir without slash</a><a href="news/a/">relative</a><img src="/img/gone.png"><a href="#top">top</a>
<a href="mailto:x@a.test">mail</a><a href="https://other.example/x">other</a><a href="http://a.test/missing/">self absolute</a>
<a href="/news/?page=2#x">query</a><a href="/about/">missing page</a><a href="/theme/style.css">twice</a><a href="/about/">again</a>`)
	add("/news/index.html", "text/html; charset=utf-8", `<a href="a/">a</a><a href="../">up</a><a href="b/">missing</a><script src="/js/x.js"></script>`)
	add("/news/a/index.html", "text/html", `<a href="/">home</a>`)
	add("/theme/style.css", "text/css", `body{background:url("/img/none.png")}`)
	add(release.SettingsKey, "application/json", `{"x":"<a href=\"/nope/\">"}`)
	got, err := release.CheckLinks(m, st.Blobs(), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/index.html -> /about/",
		"/index.html -> /img/gone.png",
		"/index.html -> /missing/",
		"/news/index.html -> /js/x.js",
		"/news/index.html -> /news/b/",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("broken links\n got %v\nwant %v", got, want)
	}
	if got, _ := release.CheckLinks(m, st.Blobs(), 2); len(got) != 2 {
		t.Errorf("max 2: got %d", len(got))
	}
}
