package folder

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSplitFrontMatter(t *testing.T) {
	draft := true
	tests := []struct {
		name, in string
		want     frontMatter
		body     string
		bad      bool
	}{
		{"None", "Just text.\n", frontMatter{}, "Just text.\n", false},
		{"YAML", "---\ntitle: Hi\ndate: 2024-05-01\ndraft: true\naliases: [/a/, b]\ntags: x\n---\nBody", frontMatter{Format: "YAML", Title: "Hi",
			Date: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), Draft: &draft, Aliases: []string{"/a/", "b"}, Tags: []string{"x"}}, "Body", false},
		{"YAMLDots", "---\ntitle: Hi\n...\nBody", frontMatter{Format: "YAML", Title: "Hi"}, "Body", false},
		{"TOML", "+++\ntitle = \"Hi\"\ndate = 2024-05-01T10:00:00Z\nslug = \"s\"\n+++\n\nBody", frontMatter{Format: "TOML", Title: "Hi",
			Date: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), Slug: "s"}, "Body", false},
		{"JSON", "{\"title\": \"Hi\", \"categories\": [\"a\", \"b\"], \"url\": \"/x/\"}\nBody", frontMatter{Format: "JSON", Title: "Hi",
			Categories: []string{"a", "b"}, URL: "/x/"}, "Body", false},
		{"JekyllPublished", "---\npublished: false\ncategories: a b\n---\n", frontMatter{Format: "YAML", Draft: &draft, Categories: []string{"a", "b"}}, "", false},
		{"SummaryIsDescription", "---\nsummary: S\n---\n", frontMatter{Format: "YAML", Description: "S"}, "", false},
		{"DescriptionWins", "---\nsummary: S\ndescription: D\n---\n", frontMatter{Format: "YAML", Description: "D"}, "", false},
		{"ErrUnclosed", "---\ntitle: Hi\nBody", frontMatter{}, "", true},
		{"ErrYAML", "---\ntitle: [\n---\n", frontMatter{}, "", true},
		{"ErrTOML", "+++\ntitle = \n+++\n", frontMatter{}, "", true},
		{"ErrJSON", "{\"title\": ", frontMatter{}, "", true},
		{"ErrTitleList", "---\ntitle: [a, b]\n---\n", frontMatter{}, "", true},
		{"ErrDate", "---\ndate: soon\n---\n", frontMatter{}, "", true},
		{"ErrDraft", "---\ndraft: maybe\n---\n", frontMatter{}, "", true},
		{"ErrHuge", "---\ntitle: " + strings.Repeat("x", maxFrontMatter) + "\n---\n", frontMatter{}, "", true},
		{"ErrYAMLBomb", "---\na: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ntags: *h\n---\n", frontMatter{}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fm, body, err := splitFrontMatter([]byte(tt.in))
			if tt.bad {
				if err == nil {
					t.Fatalf("splitFrontMatter(%.60q) = %+v, want an error", tt.in, fm)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
			if show(fm) != show(tt.want) {
				t.Errorf("front matter\n got %s\nwant %s", show(fm), show(tt.want))
			}
		})
	}
}

// show prints fm with what Draft points to, so two can be compared.
func show(fm frontMatter) string {
	d := "nil"
	if fm.Draft != nil {
		d = fmt.Sprint(*fm.Draft)
	}
	fm.Draft = nil
	return fmt.Sprintf("draft=%s %+v", d, fm)
}

// FuzzSplitFrontMatter: the parser never panics, a file without front
// matter is left whole, and the body it returns is the end of the file.
func FuzzSplitFrontMatter(f *testing.F) {
	for _, s := range []string{
		"---\ntitle: Hi\ndate: 2024-05-01\naliases: [/a/]\n---\nBody",
		"+++\ntitle = \"Hi\"\ntags = [\"a\"]\n+++\nBody",
		"{\"title\": \"Hi\", \"draft\": true}\nBody",
		"plain text",
		"---\n---\n",
		"{",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fm, body, err := splitFrontMatter(data)
		if err != nil {
			return
		}
		if fm.Format == "" && !bytes.Equal(body, data) {
			t.Fatalf("no front matter, yet the body changed: %q -> %q", data, body)
		}
		if !bytes.HasSuffix(data, body) {
			t.Fatalf("the body %q is not the end of the file %q", body, data)
		}
		if len(fm.Aliases) > maxListItems || len(fm.Tags) > maxListItems {
			t.Fatalf("lists past the limit: %d aliases, %d tags", len(fm.Aliases), len(fm.Tags))
		}
	})
}
