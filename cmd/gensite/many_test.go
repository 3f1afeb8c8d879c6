package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/release"
	"github.com/orchardhq/orchard/sqlite"
)

func TestRunManyWritesEverySite(t *testing.T) {
	dir := t.TempDir()
	db, node, urls := filepath.Join(dir, "o.db"), filepath.Join(dir, "node0"), filepath.Join(dir, "urls.txt")
	s := newSite("bench.test", 5, 2, 500)
	if err := runMany(s, 3, node, db, urls); err != nil {
		t.Fatal(err)
	}
	want := []string{"s00001.bench.test", "s00002.bench.test", "s00003.bench.test"}

	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sites, err := st.Sites(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for _, x := range sites {
		hosts = append(hosts, x.Host)
		if pages, err := st.Pages(context.Background(), x.Host, orchard.PageFilter{}); err != nil || len(pages) != 6 {
			t.Errorf("%s: %d pages, %v; want 5 and the home page", x.Host, len(pages), err)
		}
	}
	if strings.Join(hosts, " ") != strings.Join(want, " ") {
		t.Errorf("database sites %q, want %q", hosts, want)
	}

	rs, err := release.OpenStore(node)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range want {
		if id, err := rs.Active(h); err != nil || id == "" {
			t.Errorf("node: no active release for %s (%v)", h, err)
		}
	}

	b, err := os.ReadFile(urls)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 15 || lines[0] != "http://s00001.bench.test"+s.pagePaths[0] || lines[14] != "http://s00003.bench.test"+s.pagePaths[4] {
		t.Errorf("urls: %d lines, first %q, last %q", len(lines), lines[0], lines[len(lines)-1])
	}
}
