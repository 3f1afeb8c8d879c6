package main

import (
	"strings"
	"testing"
)

// TestListAliases: each listing answers to both names a user tries after
// using another one (page ls, then site ls; site list, then page list).
func TestListAliases(t *testing.T) {
	cfg := testCluster(t)
	mustCLI(t, cfg, "", "site", "-s", "example.com", "-c")
	mustCLI(t, cfg, "", "category", "-s", "example.com", "put", "/news/", "--title", "News")
	mustCLI(t, cfg, "body", "page", "-s", "example.com", "put", "/news/hello/", "--title", "Hello")
	mustCLI(t, cfg, "", "redirect", "-s", "example.com", "put", "/old/", "/news/hello/")
	for _, tt := range []struct {
		args       []string
		name, also string
		want       string
	}{
		{[]string{"site"}, "list", "ls", "example.com"},
		{[]string{"page", "-s", "example.com"}, "ls", "list", "/news/hello/"},
		{[]string{"category", "-s", "example.com"}, "ls", "list", "/news/"},
		{[]string{"redirect", "-s", "example.com"}, "ls", "list", "/old/"},
	} {
		name := mustCLI(t, cfg, "", append(tt.args, tt.name)...)
		also := mustCLI(t, cfg, "", append(tt.args, tt.also)...)
		if !strings.Contains(name, tt.want) {
			t.Errorf("%s %s lacks %s:\n%s", tt.args[0], tt.name, tt.want, name)
		}
		if also != name {
			t.Errorf("%s %s:\n%s\nwant the output of %s %s:\n%s", tt.args[0], tt.also, also, tt.args[0], tt.name, name)
		}
	}
}
