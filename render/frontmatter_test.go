package render_test

import (
	"strings"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/render"
)

func TestSplitFrontMatter(t *testing.T) {
	yes, no := true, false
	may1 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		in    string
		want  render.FrontMatter
		rest  string
		found bool
		code  string // error code, "" = none
	}{
		{"YAML", "---\ntitle: About us\ndate: 2024-05-01\ndraft: true\ndescription: Who we are\n---\n# Hi\n",
			render.FrontMatter{Title: "About us", Date: may1, Draft: &yes, Description: "Who we are"}, "# Hi\n", true, ""},
		{"YAMLQuotedAndCRLF", "---\r\ntitle: \"Hello: world\"\r\ndate: \"2024-05-01 10:30\"\r\ntags: [a, b]\r\n---\r\n\r\nbody",
			render.FrontMatter{Title: "Hello: world", Date: time.Date(2024, 5, 1, 10, 30, 0, 0, time.UTC)}, "body", true, ""},
		{"YAMLZone", "---\ndate: 2024-05-01T10:00:00+02:00\npublished: false\n---\nx",
			render.FrontMatter{Date: time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC), Draft: &yes}, "x", true, ""},
		{"YAMLDots", "---\ntitle: T\ncategory: /news/\npath: /news/t/\nlayout: wide\n...\nx",
			render.FrontMatter{Title: "T", Category: "/news/", Path: "/news/t/", Layout: "wide"}, "x", true, ""},
		{"TOML", "+++\ntitle = 'Hugo page'\ndate = 2024-05-01\ndraft = false\n+++\nbody\n",
			render.FrontMatter{Title: "Hugo page", Date: may1, Draft: &no}, "body\n", true, ""},
		{"TOMLDateTime", "+++\ndate = 2024-05-01T10:00:00Z\n+++\n",
			render.FrontMatter{Date: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}, "", true, ""},
		{"BOM", "\ufeff---\ntitle: T\n---\nx", render.FrontMatter{Title: "T"}, "x", true, ""},
		{"None", "# Title\n\ntext", render.FrontMatter{}, "# Title\n\ntext", false, ""},
		{"RuleNotClosed", "---\n\ntext under a rule", render.FrontMatter{}, "---\n\ntext under a rule", false, ""},
		{"NotFirstLine", "x\n---\ntitle: T\n---\n", render.FrontMatter{}, "x\n---\ntitle: T\n---\n", false, ""},
		{"Empty", "", render.FrontMatter{}, "", false, ""},
		{"BadYAML", "---\ntitle: [unclosed\n---\nx", render.FrontMatter{}, "", true, orchard.EINVALID},
		{"BadTOML", "+++\ntitle = \n+++\nx", render.FrontMatter{}, "", true, orchard.EINVALID},
		{"BadDate", "---\ndate: next tuesday\n---\nx", render.FrontMatter{}, "", true, orchard.EINVALID},
		{"BadDraft", "---\ndraft: maybe\n---\nx", render.FrontMatter{}, "", true, orchard.EINVALID},
		{"TitleList", "---\ntitle: [a, b]\n---\nx", render.FrontMatter{}, "", true, orchard.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fm, rest, found, err := render.SplitFrontMatter(tt.in)
			if got := orchard.ErrorCode(err); got != tt.code {
				t.Fatalf("error %v (code %q), want code %q", err, got, tt.code)
			}
			if found != tt.found {
				t.Errorf("found = %v, want %v", found, tt.found)
			}
			if err != nil {
				return
			}
			if rest != tt.rest {
				t.Errorf("rest = %q, want %q", rest, tt.rest)
			}
			if got, want := describe(fm), describe(tt.want); got != want {
				t.Errorf("front matter = %s, want %s", got, want)
			}
		})
	}
}

func describe(fm render.FrontMatter) string {
	d := "nil"
	if fm.Draft != nil {
		d = map[bool]string{true: "true", false: "false"}[*fm.Draft]
	}
	return strings.Join([]string{fm.Title, fm.Description, fm.Date.Format(time.RFC3339), d, fm.Category, fm.Path, fm.Layout}, "|")
}

func TestFrontMatterApply(t *testing.T) {
	draft := true
	fm := render.FrontMatter{Title: "T", Date: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), Draft: &draft}
	p := orchard.Page{Path: "/x/", Title: "old", Description: "kept", Published: true}
	fm.Apply(&p)
	if p.Title != "T" || p.Description != "kept" || p.Published || !p.Created.Equal(fm.Date) {
		t.Errorf("after Apply: %+v", p)
	}
}

func TestParseDate(t *testing.T) {
	for _, s := range []string{"2024-05-01", " 2024-05-01 10:30 ", "2024-05-01T10:30:00", "2024-05-01T12:30:00+02:00"} {
		got, err := render.ParseDate(s)
		if err != nil || got.Year() != 2024 || got.Location() != time.UTC {
			t.Errorf("ParseDate(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := render.ParseDate("01/05/2024"); orchard.ErrorCode(err) != orchard.EINVALID {
		t.Errorf("ParseDate(01/05/2024) error %v, want EINVALID", err)
	}
}

// FuzzSplitFrontMatter checks that any body either has no front matter and
// comes back unchanged, or splits into a shorter rest that is a suffix of it.
func FuzzSplitFrontMatter(f *testing.F) {
	for _, s := range []string{
		"---\ntitle: T\ndate: 2024-05-01\ndraft: true\n---\nbody",
		"+++\ntitle = 'T'\ndate = 2024-05-01\n+++\nbody",
		"---\n", "---\n---\n", "+++\n+++", "---\na: &a [*a]\n---\n", "---\r\ntitle: x\r\n...\r\n",
		"# plain", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		_, rest, found, err := render.SplitFrontMatter(body)
		if err != nil {
			if orchard.ErrorCode(err) != orchard.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		if !found && rest != body {
			t.Fatalf("no front matter but the body changed: %q -> %q", body, rest)
		}
		if found && (len(rest) >= len(body) || !strings.HasSuffix(body, rest)) {
			t.Fatalf("front matter found but rest %q is not a shorter suffix of %q", rest, body)
		}
	})
}
