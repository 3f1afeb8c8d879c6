package render

import (
	"embed"
	"io/fs"
	"mime"
	"path"
	"sort"
	"strings"

	orchard "github.com/orchardhq/orchard"
)

// defaultFS holds the default layouts, partials and theme.
//
//go:embed defaults
var defaultFS embed.FS

// DefaultTemplates returns the embedded default layouts and partials, copied
// into a site on `orchard site -i`, sorted by Name. A site that lacks one of
// them falls back to it when rendering.
func DefaultTemplates() []orchard.Template {
	var out []orchard.Template
	for _, dir := range []string{"layouts", "partials"} {
		entries, err := fs.ReadDir(defaultFS, "defaults/"+dir)
		if err != nil {
			panic("render: embedded defaults are missing: " + err.Error()) // a build mistake, caught by tests
		}
		for _, e := range entries {
			body, err := fs.ReadFile(defaultFS, "defaults/"+dir+"/"+e.Name())
			if err != nil {
				panic("render: embedded defaults are unreadable: " + err.Error())
			}
			out = append(out, orchard.Template{Name: dir + "/" + e.Name(), Body: string(body)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// DefaultTheme returns the embedded default theme assets (e.g.
// "/theme/style.css"), sorted by Path. They are copied into a site on
// `orchard site -i`; unlike templates, a site without them has no theme.
func DefaultTheme() []orchard.Asset {
	var out []orchard.Asset
	err := fs.WalkDir(defaultFS, "defaults/theme", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(defaultFS, p)
		if err != nil {
			return err
		}
		out = append(out, orchard.Asset{
			Path:        strings.TrimPrefix(p, "defaults"),
			ContentType: contentTypeOf(p),
			Data:        data,
		})
		return nil
	})
	if err != nil {
		panic("render: embedded theme is unreadable: " + err.Error())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// contentTypeOf guesses an asset's type from its extension, with a charset
// for text.
func contentTypeOf(p string) string {
	switch ext := path.Ext(p); ext {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
		return "application/octet-stream"
	}
}
