package render

import (
	"bytes"
	"fmt"
	"html/template"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"

	orchard "github.com/orchardhq/orchard"
)

// newMarkdown returns the Markdown converter every page body goes through:
// CommonMark plus GitHub's tables, strikethrough, autolinks and task lists,
// with ids on headings. Raw HTML in Markdown is omitted (goldmark's safe
// default); a page with Format "html" is the way to publish raw HTML.
func newMarkdown() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(extension.GFM),
		goldmark.WithParserOptions(parser.WithAutoHeadingID()),
	)
}

// bodyHTML renders a page body as HTML.
func bodyHTML(md goldmark.Markdown, p *orchard.Page) (html template.HTML, err error) {
	if p.Format == orchard.FormatHTML {
		return template.HTML(p.Body), nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("markdown of %s panicked: %v", p.Path, r)
		}
	}()
	var buf bytes.Buffer
	buf.Grow(len(p.Body) + len(p.Body)/4)
	if err := md.Convert([]byte(p.Body), &buf); err != nil {
		return "", fmt.Errorf("markdown of %s: %w", p.Path, err)
	}
	return template.HTML(buf.String()), nil
}
