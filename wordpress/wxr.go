package wordpress

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	orchard "github.com/orchardhq/orchard"
)

// Export is what Parse read from a WXR file.
type Export struct {
	Title       string
	Description string
	// Links are the site's base URLs (link, wp:base_site_url,
	// wp:base_blog_url), to recognise links to the old site.
	Links      []string
	Authors    map[string]string // login -> display name
	Categories []Term
	Tags       []Term
	Items      []Item // posts, pages, attachments and the rest, in file order
}

// Term is a category or a tag.
type Term struct {
	Slug        string
	Name        string
	Parent      string // the parent's slug, or ""
	Description string
}

// Item is one <item>: a post, page, attachment, menu item...
type Item struct {
	ID            string
	Type          string // post, page, attachment, nav_menu_item, ...
	Status        string // publish, draft, pending, future, private, trash, inherit, auto-draft
	Title         string
	Link          string // the permalink
	GUID          string
	Slug          string // wp:post_name
	Parent        string // wp:post_parent, "0" for none
	Creator       string // the author's login
	Content       string // content:encoded
	Excerpt       string // excerpt:encoded
	Date          string // wp:post_date (site time)
	DateGMT       string // wp:post_date_gmt
	ModifiedGMT   string // wp:post_modified_gmt
	PubDate       string // RFC 1123
	AttachmentURL string
	Categories    []string // slugs, in file order
	Tags          []string // slugs
	Comments      int
}

// DefaultMaxBytes is the largest file Parse reads by default.
const DefaultMaxBytes = 1 << 30

// Namespaces WXR uses; the wp namespace's version varies (1.0 to 1.2).
const (
	nsContent = "http://purl.org/rss/1.0/modules/content/"
	nsExcerpt = "/excerpt/"
	nsWP      = "http://wordpress.org/export/"
)

// Parse reads a WXR file of at most maxBytes (0: DefaultMaxBytes).
// Problems with the file are EINVALID *orchard.Error naming its line.
func Parse(ctx context.Context, r io.Reader, maxBytes int64) (*Export, error) {
	maxBytes = orchard.OrDefault(maxBytes, DefaultMaxBytes)
	lr := &io.LimitedReader{R: r, N: maxBytes + 1}
	d := xml.NewDecoder(bufio.NewReaderSize(lr, 64<<10))
	d.Strict = true
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		if strings.EqualFold(label, "utf-8") || strings.EqualFold(label, "utf8") {
			return in, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q (WordPress exports UTF-8)", label)
	}
	ex := &Export{Authors: map[string]string{}}
	var stack []string
	fail := func(format string, args ...any) error {
		line, _ := d.InputPos()
		return orchard.Errorf(orchard.EINVALID, "line %d: %s", line, fmt.Sprintf(format, args...))
	}
	sawRSS := false
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if lr.N <= 0 {
			return nil, orchard.Errorf(orchard.EINVALID, "the file is larger than the limit of %d bytes", maxBytes)
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, orchard.Errorf(orchard.EINVALID, "line %d: %s", se.Line, se.Msg)
			}
			return nil, fail("%v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, fail("<!DOCTYPE> and entity declarations are not allowed")
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.StartElement:
			if len(stack) == 0 {
				if t.Name.Local != "rss" || sawRSS {
					return nil, fail("not a WordPress export: the root element is <%s>, not <rss>", t.Name.Local)
				}
				sawRSS = true
			}
			if len(stack) == 2 && stack[1] == "channel" {
				if err := ex.channelChild(d, t); err != nil {
					return nil, fail("<%s>: %v", t.Name.Local, err)
				}
				continue // the child was read through its end
			}
			stack = append(stack, t.Name.Local)
		}
	}
	if !sawRSS {
		return nil, orchard.Errorf(orchard.EINVALID, "not a WordPress export: the file has no <rss> element")
	}
	if lr.N <= 0 {
		return nil, orchard.Errorf(orchard.EINVALID, "the file is larger than the limit of %d bytes", maxBytes)
	}
	return ex, nil
}

// wpElem reports whether name is the wp: element local.
func wpElem(name xml.Name, local string) bool {
	return name.Local == local && strings.HasPrefix(name.Space, nsWP)
}

// channelChild reads one child of <channel> through its end.
func (ex *Export) channelChild(d *xml.Decoder, t xml.StartElement) error {
	switch {
	case t.Name.Local == "item" && t.Name.Space == "":
		var raw rawItem
		if err := d.DecodeElement(&raw, &t); err != nil {
			return err
		}
		ex.Items = append(ex.Items, raw.item())
		return nil
	case wpElem(t.Name, "author"):
		var a struct {
			Login   string `xml:"author_login"`
			Display string `xml:"author_display_name"`
		}
		if err := d.DecodeElement(&a, &t); err != nil {
			return err
		}
		ex.Authors[a.Login] = a.Display
		return nil
	case wpElem(t.Name, "category"):
		var c struct {
			Slug        string `xml:"category_nicename"`
			Parent      string `xml:"category_parent"`
			Name        string `xml:"cat_name"`
			Description string `xml:"category_description"`
		}
		if err := d.DecodeElement(&c, &t); err != nil {
			return err
		}
		ex.Categories = append(ex.Categories, Term{Slug: c.Slug, Name: c.Name, Parent: c.Parent, Description: c.Description})
		return nil
	case wpElem(t.Name, "tag"):
		var c struct {
			Slug        string `xml:"tag_slug"`
			Name        string `xml:"tag_name"`
			Description string `xml:"tag_description"`
		}
		if err := d.DecodeElement(&c, &t); err != nil {
			return err
		}
		ex.Tags = append(ex.Tags, Term{Slug: c.Slug, Name: c.Name, Description: c.Description})
		return nil
	}
	var s string
	if err := d.DecodeElement(&s, &t); err != nil {
		return err
	}
	s = strings.TrimSpace(s)
	switch {
	case t.Name.Space == "" && t.Name.Local == "title":
		ex.Title = s
	case t.Name.Space == "" && t.Name.Local == "description":
		ex.Description = s
	case t.Name.Space == "" && t.Name.Local == "link",
		wpElem(t.Name, "base_site_url"), wpElem(t.Name, "base_blog_url"):
		if s != "" {
			ex.Links = append(ex.Links, s)
		}
	}
	return nil
}

// rawItem is an <item> as encoding/xml decodes it.
type rawItem struct {
	Title   string `xml:"title"`
	Link    string `xml:"link"`
	GUID    string `xml:"guid"`
	PubDate string `xml:"pubDate"`
	Creator string `xml:"creator"`
	// content:encoded and excerpt:encoded share their local name.
	Encoded []struct {
		XMLName xml.Name
		Text    string `xml:",chardata"`
	} `xml:"encoded"`
	ID            string `xml:"post_id"`
	Date          string `xml:"post_date"`
	DateGMT       string `xml:"post_date_gmt"`
	ModifiedGMT   string `xml:"post_modified_gmt"`
	Slug          string `xml:"post_name"`
	Status        string `xml:"status"`
	Parent        string `xml:"post_parent"`
	Type          string `xml:"post_type"`
	AttachmentURL string `xml:"attachment_url"`
	Categories    []struct {
		Domain   string `xml:"domain,attr"`
		Nicename string `xml:"nicename,attr"`
	} `xml:"category"`
	Comments []struct{} `xml:"comment"`
}

func (r rawItem) item() Item {
	it := Item{
		ID: strings.TrimSpace(r.ID), Type: strings.TrimSpace(r.Type), Status: strings.TrimSpace(r.Status),
		Title: strings.TrimSpace(r.Title), Link: strings.TrimSpace(r.Link), GUID: strings.TrimSpace(r.GUID),
		Slug: strings.TrimSpace(r.Slug), Parent: strings.TrimSpace(r.Parent), Creator: strings.TrimSpace(r.Creator),
		Date: strings.TrimSpace(r.Date), DateGMT: strings.TrimSpace(r.DateGMT), ModifiedGMT: strings.TrimSpace(r.ModifiedGMT),
		PubDate: strings.TrimSpace(r.PubDate), AttachmentURL: strings.TrimSpace(r.AttachmentURL), Comments: len(r.Comments),
	}
	for _, e := range r.Encoded {
		switch {
		case e.XMLName.Space == nsContent:
			it.Content = e.Text
		case strings.HasSuffix(e.XMLName.Space, nsExcerpt):
			it.Excerpt = strings.TrimSpace(e.Text)
		}
	}
	for _, c := range r.Categories {
		switch c.Domain {
		case "category":
			it.Categories = append(it.Categories, c.Nicename)
		case "post_tag":
			it.Tags = append(it.Tags, c.Nicename)
		}
	}
	return it
}
