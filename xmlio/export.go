package xmlio

import (
	"bufio"
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	orchard "github.com/orchardhq/orchard"
)

// ExportOptions says what an export holds beyond the site's content.
type ExportOptions struct {
	// WithSecrets writes users' password hashes. Without it users are
	// written by name only and are imported locked (LockedPasswordHash).
	WithSecrets bool
}

// Export writes c to w in the format described in the package comment.
// Items are written sorted, so the same content always gives the same
// bytes; c is not modified. It fails on a value no valid site holds (a path,
// name or content type that cannot be written as an attribute) and stops
// when ctx is done.
func Export(ctx context.Context, w io.Writer, c *orchard.SiteContent, opts ExportOptions) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	e := &exporter{w: bw}
	if err := e.site(ctx, c, opts); err != nil {
		return err
	}
	if e.err != nil {
		return fmt.Errorf("write export: %w", e.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	return nil
}

// exporter writes the XML by hand, so the output is fully under our control:
// attribute order, indentation and escaping never change between versions
// of encoding/xml.
type exporter struct {
	w   *bufio.Writer
	err error // first write error; later writes are skipped
}

func (e *exporter) str(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

// attr writes ` name="value"`, or nothing for an empty value.
func (e *exporter) attr(name, value string) error {
	if value == "" {
		return nil
	}
	if !xmlSafe(value) {
		return orchard.Errorf(orchard.EINVALID, "Attribute %s=%q cannot be written as XML.", name, value)
	}
	e.str(" ")
	e.str(name)
	e.str(`="`)
	e.str(attrEscaper.Replace(value))
	e.str(`"`)
	return nil
}

// text writes <name>value</name> at indent, base64-encoded when XML cannot
// hold the value, and nothing for an empty value.
func (e *exporter) text(indent, name, value string) {
	if value == "" {
		return
	}
	e.str(indent)
	e.str("<")
	e.str(name)
	switch {
	case !xmlSafe(value):
		e.str(` encoding="base64">`)
		e.base64([]byte(value), "")
	case strings.ContainsAny(value, "<&") && !strings.Contains(value, "]]>") && !strings.Contains(value, "\r"):
		// Markup reads better unescaped. A CDATA section cannot hold "]]>",
		// and a parser turns its carriage returns into line feeds.
		e.str("><![CDATA[")
		e.str(value)
		e.str("]]>")
	default:
		e.str(">")
		e.str(textEscaper.Replace(value))
	}
	e.str("</")
	e.str(name)
	e.str(">\n")
}

// base64 writes data as base64 in lines of 76 characters; with indent set
// each line starts on its own indented line and the block ends with a line
// break and indent[:len(indent)-2].
func (e *exporter) base64(data []byte, indent string) {
	enc := base64.StdEncoding.EncodeToString(data)
	if indent == "" {
		e.str(enc)
		return
	}
	for len(enc) > 0 {
		n := min(76, len(enc))
		e.str("\n")
		e.str(indent)
		e.str(enc[:n])
		enc = enc[n:]
	}
	e.str("\n")
	e.str(indent[:len(indent)-2])
}

func (e *exporter) site(ctx context.Context, c *orchard.SiteContent, opts ExportOptions) error {
	s := &c.Site
	e.str(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	e.str(`<orchard-site version="` + Version + `"`)
	if s.Host == "" {
		return orchard.Errorf(orchard.EINVALID, "The site has no host name.")
	}
	if err := e.attr("host", s.Host); err != nil {
		return err
	}
	e.str(">\n")

	e.str("  <settings")
	if err := e.attrs("scheme", s.Scheme, "feed-size", itoa(s.FeedSize), "created", formatTime(s.Created), "updated", formatTime(s.Updated)); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	e.str(">\n")
	e.text("    ", "title", s.Title)
	e.text("    ", "description", s.Description)
	e.text("    ", "cache-control", s.CacheControl)
	e.str("  </settings>\n")

	aliases := slices.Clone(s.Aliases)
	slices.Sort(aliases)
	for _, a := range aliases {
		e.str("  <alias")
		if err := e.attr("host", a); err != nil {
			return fmt.Errorf("alias: %w", err)
		}
		e.str("/>\n")
	}

	redirects := sortedBy(s.Redirects, func(r orchard.Redirect) string { return r.From })
	for _, r := range redirects {
		e.str("  <redirect")
		if err := e.attrs("from", r.From, "to", r.To); err != nil {
			return fmt.Errorf("redirect from %q: %w", r.From, err)
		}
		e.str("/>\n")
	}

	cats := sortedBy(c.Categories, func(c orchard.Category) string { return c.Path })
	for _, cat := range cats {
		e.str("  <category")
		if err := e.attrs("path", cat.Path, "sort", itoa(cat.Sort), "created", formatTime(cat.Created), "updated", formatTime(cat.Updated)); err != nil {
			return fmt.Errorf("category %q: %w", cat.Path, err)
		}
		e.open(cat.Title == "" && cat.Description == "")
		e.text("    ", "title", cat.Title)
		e.text("    ", "description", cat.Description)
		e.close("category", cat.Title == "" && cat.Description == "")
	}

	pages := sortedBy(c.Pages, func(p orchard.Page) string { return p.Path })
	for i, p := range pages {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		e.str("  <page")
		if err := e.attrs("path", p.Path, "category", p.Category, "layout", p.Layout, "format", p.Format,
			"published", strconv.FormatBool(p.Published), "created", formatTime(p.Created), "updated", formatTime(p.Updated)); err != nil {
			return fmt.Errorf("page %q: %w", p.Path, err)
		}
		empty := p.Title == "" && p.Description == "" && p.Body == ""
		e.open(empty)
		e.text("    ", "title", p.Title)
		e.text("    ", "description", p.Description)
		e.text("    ", "body", p.Body)
		e.close("page", empty)
	}

	tmpls := sortedBy(c.Templates, func(t orchard.Template) string { return t.Name })
	for _, t := range tmpls {
		e.str("  <template")
		if err := e.attrs("name", t.Name, "updated", formatTime(t.Updated)); err != nil {
			return fmt.Errorf("template %q: %w", t.Name, err)
		}
		e.open(t.Body == "")
		e.text("    ", "body", t.Body)
		e.close("template", t.Body == "")
	}

	assets := sortedBy(c.Assets, func(a orchard.Asset) string { return a.Path })
	for _, a := range assets {
		if err := ctx.Err(); err != nil {
			return err
		}
		e.str("  <asset")
		if err := e.attrs("path", a.Path, "type", a.ContentType, "size", strconv.Itoa(len(a.Data)), "updated", formatTime(a.Updated)); err != nil {
			return fmt.Errorf("asset %q: %w", a.Path, err)
		}
		if len(a.Data) == 0 {
			e.str("/>\n")
			continue
		}
		e.str(">")
		e.base64(a.Data, "    ")
		e.str("</asset>\n")
	}

	users := sortedBy(c.Users, func(u orchard.User) string { return u.Name })
	for _, u := range users {
		e.str("  <user")
		hash := ""
		if opts.WithSecrets {
			hash = u.PasswordHash
		}
		if err := e.attrs("name", u.Name, "created", formatTime(u.Created), "password-hash", hash); err != nil {
			return fmt.Errorf("user %q: %w", u.Name, err)
		}
		e.str("/>\n")
	}
	e.str("</orchard-site>\n")
	return ctx.Err()
}

// attrs writes name, value pairs with attr.
func (e *exporter) attrs(kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if err := e.attr(kv[i], kv[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// open ends a start tag: "/>" for an element without children.
func (e *exporter) open(empty bool) {
	if empty {
		e.str("/>\n")
	} else {
		e.str(">\n")
	}
}

// close writes the end tag of an element opened with open(empty).
func (e *exporter) close(name string, empty bool) {
	if !empty {
		e.str("  </" + name + ">\n")
	}
}

// itoa formats n, or "" for 0 (an omitted number means 0).
func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// sortedBy returns a copy of items sorted by key.
func sortedBy[T any](items []T, key func(T) string) []T {
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	return out
}
