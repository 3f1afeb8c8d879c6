package render

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"go.yaml.in/yaml/v3"

	orchard "github.com/orchardhq/orchard"
)

// maxFrontMatter bounds the front matter block, in bytes: metadata, not
// content, so anything bigger is a mistake (or an attack on the parser).
const maxFrontMatter = 64 << 10

// FrontMatter is the metadata block at the top of a Markdown file, as Hugo
// and Jekyll write it: YAML between "---" lines or TOML between "+++"
// lines. Fields the block does not give are zero (Draft nil). Other keys
// (tags, weight, ...) are ignored.
type FrontMatter struct {
	Title       string
	Description string
	Date        time.Time // "date" (a date without a zone is UTC); zero = not given
	Draft       *bool     // "draft", or the inverse of Jekyll's "published"
	Category    string    // "category"
	Path        string    // "path" (or Jekyll's "permalink")
	Layout      string    // "layout"
}

// Apply sets the fields of p that the front matter gives: Title,
// Description, Created (from Date), Published (from Draft), Category, Path
// and Layout.
func (fm *FrontMatter) Apply(p *orchard.Page) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&p.Title, fm.Title)
	set(&p.Description, fm.Description)
	set(&p.Category, fm.Category)
	set(&p.Path, fm.Path)
	set(&p.Layout, fm.Layout)
	if !fm.Date.IsZero() {
		p.Created = fm.Date
	}
	if fm.Draft != nil {
		p.Published = !*fm.Draft
	}
}

// SplitFrontMatter reads the front matter at the start of body and returns
// it with the body that follows it. A body that does not start with a
// "---" or "+++" line closed by the same line (YAML may also close with
// "...") has none: found is false and rest is body unchanged. A block that
// is there but does not parse is an EINVALID *Error naming the problem.
func SplitFrontMatter(body string) (fm FrontMatter, rest string, found bool, err error) {
	s := strings.TrimPrefix(body, "\ufeff")
	first, after, ok := cutLine(s)
	if !ok {
		return fm, body, false, nil
	}
	var closers []string
	switch first {
	case "---":
		closers = []string{"---", "..."}
	case "+++":
		closers = []string{"+++"}
	default:
		return fm, body, false, nil
	}
	block, rest, ok := cutBlock(after, closers)
	if !ok {
		return fm, body, false, nil
	}
	if len(block) > maxFrontMatter {
		return fm, body, true, orchard.Errorf(orchard.EINVALID, "Front matter is longer than %d KB.", maxFrontMatter>>10)
	}
	raw := map[string]any{}
	if first == "---" {
		err = yaml.Unmarshal([]byte(block), &raw)
	} else {
		err = toml.NewDecoder(strings.NewReader(block)).Decode(&raw)
	}
	if err != nil {
		return fm, body, true, orchard.Errorf(orchard.EINVALID, "Front matter (%s) does not parse: %s", map[string]string{"---": "YAML", "+++": "TOML"}[first], firstLine(err.Error()))
	}
	if err := fm.fill(raw); err != nil {
		return fm, body, true, err
	}
	return fm, strings.TrimLeft(rest, "\r\n"), true, nil
}

// cutLine splits s after its first line, which it returns without the line
// ending; ok is false when s has no line ending.
func cutLine(s string) (line, rest string, ok bool) {
	line, rest, ok = strings.Cut(s, "\n")
	return strings.TrimRight(line, " \t\r"), rest, ok
}

// cutBlock finds the first line of s equal to one of closers and returns
// what comes before and after that line.
func cutBlock(s string, closers []string) (block, rest string, ok bool) {
	for off := 0; off <= len(s); {
		line, after, more := strings.Cut(s[off:], "\n")
		line = strings.TrimRight(line, " \t\r")
		for _, c := range closers {
			if line == c {
				if !more {
					after = ""
				}
				return s[:off], after, true
			}
		}
		if !more {
			break
		}
		off = len(s) - len(after)
	}
	return "", "", false
}

// fill takes the known keys from a decoded block.
func (fm *FrontMatter) fill(raw map[string]any) error {
	for k, v := range raw {
		var err error
		switch strings.ToLower(k) {
		case "title":
			fm.Title, err = FrontMatterText(k, v)
		case "description", "summary":
			if fm.Description == "" || strings.EqualFold(k, "description") {
				fm.Description, err = FrontMatterText(k, v)
			}
		case "category":
			fm.Category, err = FrontMatterText(k, v)
		case "path", "permalink":
			fm.Path, err = FrontMatterText(k, v)
		case "layout":
			fm.Layout, err = FrontMatterText(k, v)
		case "date":
			fm.Date, err = FrontMatterDate(v)
		case "draft", "published":
			var b bool
			b, err = FrontMatterBool(k, v)
			if strings.EqualFold(k, "published") {
				b = !b
			}
			fm.Draft = &b
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// FrontMatterText turns a decoded front matter value (YAML, TOML or JSON)
// that is a string, number or boolean into its text; lists and maps are
// refused with an EINVALID *Error naming key.
func FrontMatterText(key string, v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(v), nil
	case bool, int, int64, uint64, float64, json.Number:
		return fmt.Sprint(v), nil
	}
	return "", orchard.Errorf(orchard.EINVALID, "Front matter: %s must be text.", key)
}

// FrontMatterBool reads true/false (or yes/no, in any case) as a boolean.
func FrontMatterBool(key string, v any) (bool, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "yes":
			return true, nil
		case "false", "no":
			return false, nil
		}
	}
	return false, orchard.Errorf(orchard.EINVALID, "Front matter: %s must be true or false.", key)
}

// dateLayouts are the date forms accepted in text; those without a zone
// are UTC.
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"}

// FrontMatterDate reads a decoded date: YAML and TOML dates, or text that
// ParseDate reads (its error, for text).
func FrontMatterDate(v any) (time.Time, error) {
	switch v := v.(type) {
	case time.Time:
		return v.UTC(), nil
	case toml.LocalDate:
		return v.AsTime(time.UTC), nil
	case toml.LocalDateTime:
		return v.AsTime(time.UTC), nil
	case string:
		return ParseDate(v)
	}
	return time.Time{}, orchard.Errorf(orchard.EINVALID, "Front matter: date must be a date such as 2024-05-01.")
}

// ParseDate reads a page date as people type it: 2024-05-01,
// 2024-05-01 10:30, 2024-05-01T10:30:00 or RFC 3339 with a zone. A date
// without a zone is UTC. Errors are EINVALID *Errors.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, orchard.Errorf(orchard.EINVALID, "Date %q is not a date such as 2024-05-01 or 2024-05-01 10:30.", s)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
