package folder

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"go.yaml.in/yaml/v3"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/render"
)

// maxFrontMatter bounds a front matter block, in bytes: metadata, not
// content, so anything bigger is a mistake (or an attack on the parser).
const maxFrontMatter = 64 << 10

// maxListItems bounds aliases, categories and tags of one file.
const maxListItems = 1000

// frontMatter is what the importer takes from a file's front matter, as
// Hugo and Jekyll write it. Absent fields are zero (Draft nil).
type frontMatter struct {
	Format      string // "YAML", "TOML", "JSON", or "" when the file has none
	Title       string
	Description string // description, else summary (Hugo) or excerpt (Jekyll)
	Date        time.Time
	Lastmod     time.Time
	Draft       *bool  // draft, or the inverse of Jekyll's published
	Slug        string // replaces the file name in the URL
	URL         string // url (Hugo) or permalink (Jekyll): the whole URL path
	Aliases     []string
	Categories  []string // categories, or Jekyll's category
	Tags        []string
}

// splitFrontMatter reads the front matter at the start of data: YAML
// between "---" lines (or closed by "..."), TOML between "+++" lines, or
// one JSON object. It returns the body after it. A file that starts with
// none has no front matter (Format ""); one that starts a block and does
// not close or parse it is an EINVALID *orchard.Error.
func splitFrontMatter(data []byte) (fm frontMatter, body []byte, err error) {
	s := bytes.TrimPrefix(data, []byte("\ufeff"))
	first, after, ok := bytes.Cut(s, []byte("\n"))
	first = bytes.TrimRight(first, " \t\r")
	var raw map[string]any
	switch {
	case ok && (string(first) == "---" || string(first) == "+++"):
		closers := []string{"+++"}
		fm.Format = "TOML"
		if string(first) == "---" {
			closers, fm.Format = []string{"---", "..."}, "YAML"
		}
		block, rest, found := cutBlock(after, closers)
		if !found {
			return fm, data, orchard.Errorf(orchard.EINVALID, "Front matter (%s) is not closed by a %q line.", fm.Format, closers[0])
		}
		if len(block) > maxFrontMatter {
			return fm, data, orchard.Errorf(orchard.EINVALID, "Front matter is longer than %d KB.", maxFrontMatter>>10)
		}
		raw = map[string]any{}
		if fm.Format == "YAML" {
			err = yaml.Unmarshal(block, &raw)
		} else {
			err = toml.Unmarshal(block, &raw)
		}
		body = rest
	case len(s) > 0 && s[0] == '{':
		fm.Format = "JSON"
		dec := json.NewDecoder(bytes.NewReader(s[:min(len(s), maxFrontMatter+1)]))
		dec.UseNumber()
		err = dec.Decode(&raw)
		if err == nil {
			body = s[dec.InputOffset():]
		} else if len(s) > maxFrontMatter {
			return fm, data, orchard.Errorf(orchard.EINVALID, "Front matter is longer than %d KB, or is not one JSON object.", maxFrontMatter>>10)
		}
	default:
		return fm, data, nil
	}
	if err != nil {
		line, _, _ := strings.Cut(err.Error(), "\n")
		return fm, data, orchard.Errorf(orchard.EINVALID, "Front matter (%s) does not parse: %s", fm.Format, line)
	}
	if err := fm.fill(raw); err != nil {
		return fm, data, err
	}
	return fm, bytes.TrimLeft(body, "\r\n"), nil
}

// cutBlock finds the first line of s equal to one of closers and returns
// what comes before and after that line.
func cutBlock(s []byte, closers []string) (block, rest []byte, ok bool) {
	for off := 0; off <= len(s); {
		line, after, more := bytes.Cut(s[off:], []byte("\n"))
		line = bytes.TrimRight(line, " \t\r")
		for _, c := range closers {
			if string(line) == c {
				if !more {
					after = nil
				}
				return s[:off], after, true
			}
		}
		if !more {
			break
		}
		off = len(s) - len(after)
	}
	return nil, nil, false
}

// fill takes the known keys (in any case) from a decoded block.
func (fm *frontMatter) fill(raw map[string]any) error {
	var summary string
	for k, v := range raw {
		var err error
		switch strings.ToLower(k) {
		case "title":
			fm.Title, err = render.FrontMatterText(k, v)
		case "description":
			fm.Description, err = render.FrontMatterText(k, v)
		case "summary", "excerpt":
			summary, err = render.FrontMatterText(k, v)
		case "slug":
			fm.Slug, err = render.FrontMatterText(k, v)
		case "url", "permalink":
			fm.URL, err = render.FrontMatterText(k, v)
		case "date":
			fm.Date, err = date(k, v)
		case "publishdate":
			if fm.Date.IsZero() {
				fm.Date, err = date(k, v)
			}
		case "lastmod", "last_modified_at":
			fm.Lastmod, err = date(k, v)
		case "draft", "published":
			var b bool
			b, err = render.FrontMatterBool(k, v)
			if strings.EqualFold(k, "published") {
				b = !b
			}
			fm.Draft = &b
		case "aliases":
			fm.Aliases, err = list(k, v, false)
		case "categories", "category":
			var cs []string
			cs, err = list(k, v, true)
			fm.Categories = append(fm.Categories, cs...)
		case "tags":
			fm.Tags, err = list(k, v, true)
		}
		if err != nil {
			return err
		}
	}
	if fm.Description == "" {
		fm.Description = summary
	}
	return nil
}

// list reads a list of scalars, or one scalar; with words, a scalar is
// split at spaces (as Jekyll reads "categories: a b").
func list(key string, v any, words bool) ([]string, error) {
	var out []string
	add := func(x any) error {
		s, err := render.FrontMatterText(key, x)
		if err != nil {
			return err
		}
		if s != "" {
			out = append(out, s)
		}
		return nil
	}
	switch v := v.(type) {
	case []any:
		if len(v) > maxListItems {
			return nil, orchard.Errorf(orchard.EINVALID, "Front matter: %s has more than %d items.", key, maxListItems)
		}
		for _, x := range v {
			if err := add(x); err != nil {
				return nil, err
			}
		}
	case string:
		if words {
			out = strings.Fields(v)
		} else if err := add(v); err != nil {
			return nil, err
		}
		if len(out) > maxListItems {
			return nil, orchard.Errorf(orchard.EINVALID, "Front matter: %s has more than %d items.", key, maxListItems)
		}
	default:
		if err := add(v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func date(key string, v any) (time.Time, error) {
	if text, ok := v.(string); ok {
		// Jekyll writes "2024-03-01 10:00:00 +0100".
		if t, err := time.Parse("2006-01-02 15:04:05 -0700", strings.TrimSpace(text)); err == nil {
			return t.UTC(), nil
		}
	}
	t, err := render.FrontMatterDate(v)
	if err != nil {
		return time.Time{}, orchard.Errorf(orchard.EINVALID, "Front matter: %s must be a date such as 2024-05-01.", key)
	}
	return t, nil
}
