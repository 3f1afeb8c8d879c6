package xmlio

import (
	"context"
	"encoding/xml"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/render"
)

// Decode reads a site written by Export from r, streaming, within lim, and
// validates every value as the admin UI does. progress, if not nil, is
// called now and then with the number of bytes read so far.
//
// Every problem is an EINVALID *orchard.Error whose message starts with
// "line N: <element ...>:"; a cancelled ctx returns ctx.Err(); a failing
// reader returns its error wrapped. The result's slices are sorted as
// orchard.SiteContent documents; users belong to the file's site.
func Decode(ctx context.Context, r io.Reader, lim Limits, progress func(bytesRead int64)) (*orchard.SiteContent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rd := newReader(ctx, r, lim.withDefaults(), progress)
	root, err := rd.root()
	if err != nil {
		return nil, err
	}
	b := &builder{r: rd, lines: map[string]int{}}
	if err := b.site(root); err != nil {
		return nil, err
	}
	if err := rd.end(); err != nil {
		return nil, err
	}
	if err := b.finish(); err != nil {
		return nil, err
	}
	if progress != nil {
		progress(rd.in.n)
	}
	return &b.c, nil
}

// root reads up to the root element's start tag.
func (r *reader) root() (xml.StartElement, error) {
	for {
		tok, err := r.token()
		if err == io.EOF {
			return xml.StartElement{}, errAt(r.line(), "", "the file has no <orchard-site> element")
		} else if err != nil {
			return xml.StartElement{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "orchard-site" {
				return t, r.errf("the root element must be <orchard-site>")
			}
			return t, nil
		case xml.CharData:
			if !isSpace(t) {
				return xml.StartElement{}, r.errf("unexpected text %q before <orchard-site>", snippet(t))
			}
		}
	}
}

// end reads what follows the root element: only white space and comments.
func (r *reader) end() error {
	for {
		tok, err := r.token()
		if err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return r.errf("a second root element")
		case xml.CharData:
			if !isSpace(t) {
				return r.errf("unexpected text %q after </orchard-site>", snippet(t))
			}
		}
	}
}

// builder collects the site's content and remembers the line of every item
// for the checks that span items.
type builder struct {
	r            *reader
	c            orchard.SiteContent
	settings     bool
	settingsLine int
	lines        map[string]int // "page:/a/", "category:/a/", ... -> line
}

// seen records key at line, or reports the line it was first seen at.
func (b *builder) seen(key string, f frame) error {
	if first, ok := b.lines[key]; ok {
		kind, name, _ := strings.Cut(key, ":")
		return errAt(f.line, f.desc, "duplicate %s %q (first at line %d)", kind, name, first)
	}
	b.lines[key] = f.line
	return nil
}

// check validates v, the element f, and then records kind:key as seen
// (key points into v: Validate may normalise it).
func (b *builder) check(f frame, v interface{ Validate() error }, kind string, key *string) error {
	if err := v.Validate(); err != nil {
		return invalid(f, err)
	}
	return b.seen(kind+":"+*key, f)
}

// add checks v (see check) and appends it to list.
func add[T any, PT interface {
	*T
	Validate() error
}](b *builder, f frame, list *[]T, v PT, kind string, key *string) error {
	if err := b.check(f, v, kind, key); err != nil {
		return err
	}
	*list = append(*list, *v)
	return nil
}

// invalid wraps a Validate error for the element f.
func invalid(f frame, err error) error {
	if orchard.ErrorCode(err) != orchard.EINVALID {
		return err
	}
	return errAt(f.line, f.desc, "%s", orchard.ErrorMessage(err))
}

func (b *builder) site(t xml.StartElement) error {
	r := b.r
	a, err := r.attrs(t, "version", "host")
	if err != nil {
		return err
	}
	switch v, ok := a["version"]; {
	case !ok:
		return r.elemErr("the version attribute is missing")
	case v != Version:
		return r.elemErr("unsupported version %q (this orchard reads version %s)", snippet([]byte(v)), Version)
	}
	host, err := orchard.NormalizeHost(a["host"])
	if err != nil {
		return invalid(r.top(), err)
	}
	b.c.Site.Host = host
	b.lines["alias:"+host] = r.line()
	elems := map[string]func(xml.StartElement) error{
		"settings": b.settingsElem,
		"alias":    b.alias,
		"redirect": b.redirect,
		"category": b.category,
		"page":     b.page,
		"template": b.template,
		"asset":    b.asset,
		"user":     b.user,
	}
	return r.children(func(t xml.StartElement) error {
		if read, ok := elems[t.Name.Local]; ok {
			return read(t)
		}
		return r.elemErr("unknown element")
	})
}

// fields reads the text children of the element just started into the
// named strings, each at most once.
func (b *builder) fields(dst map[string]*string) error {
	r := b.r
	got := map[string]bool{}
	return r.children(func(t xml.StartElement) error {
		p, ok := dst[t.Name.Local]
		if !ok {
			return r.elemErr("unknown element")
		}
		if got[t.Name.Local] {
			return r.elemErr("given twice")
		}
		got[t.Name.Local] = true
		s, err := r.text(t)
		*p = s
		return err
	})
}

func (b *builder) settingsElem(t xml.StartElement) error {
	r, f := b.r, b.r.top()
	if b.settings {
		return r.elemErr("given twice (first at line %d)", b.settingsLine)
	}
	b.settings, b.settingsLine = true, f.line
	a, err := r.attrs(t, "scheme", "feed-size", "created", "updated")
	if err != nil {
		return err
	}
	s := &b.c.Site
	s.Scheme = a["scheme"]
	if s.FeedSize, err = atoi(a["feed-size"]); err != nil {
		return r.elemErr("feed-size: %v", err)
	}
	if err := b.times(a, map[string]*time.Time{"created": &s.Created, "updated": &s.Updated}); err != nil {
		return err
	}
	return b.fields(map[string]*string{"title": &s.Title, "description": &s.Description, "cache-control": &s.CacheControl})
}

func (b *builder) alias(t xml.StartElement) error {
	r, f := b.r, b.r.top()
	a, err := r.attrs(t, "host")
	if err != nil {
		return err
	}
	h, err := orchard.NormalizeHost(a["host"])
	if err != nil {
		return invalid(f, err)
	}
	if err := b.seen("alias:"+h, f); err != nil {
		return err
	}
	b.c.Site.Aliases = append(b.c.Site.Aliases, h)
	return r.empty()
}

func (b *builder) redirect(t xml.StartElement) error {
	r, f := b.r, b.r.top()
	a, err := r.attrs(t, "from", "to")
	if err != nil {
		return err
	}
	rd := orchard.Redirect{From: a["from"], To: a["to"]}
	if err := b.check(f, &rd, "redirect", &rd.From); err != nil {
		return err
	}
	if len(b.c.Site.Redirects) >= orchard.MaxRedirects {
		return r.elemErr("more than %d redirects", orchard.MaxRedirects)
	}
	b.c.Site.Redirects = append(b.c.Site.Redirects, rd)
	return r.empty()
}

func (b *builder) category(t xml.StartElement) error {
	r, f := b.r, b.r.top()
	a, err := r.attrs(t, "path", "sort", "created", "updated")
	if err != nil {
		return err
	}
	c := orchard.Category{Path: a["path"]}
	if c.Sort, err = atoi(a["sort"]); err != nil {
		return r.elemErr("sort: %v", err)
	}
	if err := b.times(a, map[string]*time.Time{"created": &c.Created, "updated": &c.Updated}); err != nil {
		return err
	}
	if err := b.fields(map[string]*string{"title": &c.Title, "description": &c.Description}); err != nil {
		return err
	}
	return add(b, f, &b.c.Categories, &c, "category", &c.Path)
}

func (b *builder) page(t xml.StartElement) error {
	r, f := b.r, b.r.top()
	a, err := r.attrs(t, "path", "category", "layout", "format", "published", "created", "updated")
	if err != nil {
		return err
	}
	p := orchard.Page{Path: a["path"], Category: a["category"], Layout: a["layout"], Format: a["format"]}
	switch a["published"] {
	case "true":
		p.Published = true
	case "false", "":
	default:
		return r.elemErr("published must be true or false")
	}
	if err := b.times(a, map[string]*time.Time{"created": &p.Created, "updated": &p.Updated}); err != nil {
		return err
	}
	if err := b.fields(map[string]*string{"title": &p.Title, "description": &p.Description, "body": &p.Body}); err != nil {
		return err
	}
	stripFrontMatter(&p)
	return add(b, f, &b.c.Pages, &p, "page", &p.Path)
}

// stripFrontMatter takes a YAML or TOML front matter block off a Markdown
// body (pasted from Hugo or Jekyll, or stored by an orchard that rendered it
// as content): its title and description fill what the element leaves
// empty; the element's own attributes (dates, published) stand. A block
// that does not parse is left in the body.
func stripFrontMatter(p *orchard.Page) {
	if p.Format != "" && p.Format != orchard.FormatMarkdown {
		return
	}
	fm, rest, found, err := render.SplitFrontMatter(p.Body)
	if !found || err != nil {
		return
	}
	p.Body = rest
	if p.Title == "" {
		p.Title = fm.Title
	}
	if p.Description == "" {
		p.Description = fm.Description
	}
}

func (b *builder) template(t xml.StartElement) error {
	r, f := b.r, b.r.top()
	a, err := r.attrs(t, "name", "updated")
	if err != nil {
		return err
	}
	tm := orchard.Template{Name: a["name"]}
	if err := b.times(a, map[string]*time.Time{"updated": &tm.Updated}); err != nil {
		return err
	}
	if err := b.fields(map[string]*string{"body": &tm.Body}); err != nil {
		return err
	}
	return add(b, f, &b.c.Templates, &tm, "template", &tm.Name)
}

func (b *builder) asset(t xml.StartElement) error {
	r, f := b.r, b.r.top()
	a, err := r.attrs(t, "path", "type", "size", "updated")
	if err != nil {
		return err
	}
	as := orchard.Asset{Path: a["path"], ContentType: a["type"]}
	if err := b.times(a, map[string]*time.Time{"updated": &as.Updated}); err != nil {
		return err
	}
	sizeAttr, ok := a["size"]
	if !ok {
		return r.elemErr("the size attribute is missing")
	}
	size, err := strconv.ParseInt(sizeAttr, 10, 64)
	if err != nil || size < 0 {
		return r.elemErr("size must be a number of bytes")
	}
	if size > orchard.MaxAssetLen {
		return invalid(f, orchard.Errorf(orchard.EINVALID, "Asset is larger than %d bytes.", orchard.MaxAssetLen))
	}
	s, err := r.rawText()
	if err != nil {
		return err
	}
	if as.Data, err = decodeBase64(s); err != nil {
		return errAt(f.line, f.desc, "%s", err.Error())
	}
	if int64(len(as.Data)) != size {
		return errAt(f.line, f.desc, "content is %d bytes, size says %d", len(as.Data), size)
	}
	return add(b, f, &b.c.Assets, &as, "asset", &as.Path)
}

func (b *builder) user(t xml.StartElement) error {
	r, f := b.r, b.r.top()
	a, err := r.attrs(t, "name", "created", "password-hash")
	if err != nil {
		return err
	}
	u := orchard.User{Site: b.c.Site.Host, Name: a["name"], PasswordHash: a["password-hash"]}
	if err := b.times(a, map[string]*time.Time{"created": &u.Created}); err != nil {
		return err
	}
	if u.PasswordHash == "" {
		u.PasswordHash = LockedPasswordHash
	}
	if len(u.PasswordHash) > 512 || strings.ContainsFunc(u.PasswordHash, func(c rune) bool { return c <= ' ' || c > '~' }) {
		return errAt(f.line, f.desc, "password-hash must be printable ASCII of at most 512 bytes")
	}
	if err := add(b, f, &b.c.Users, &u, "user", &u.Name); err != nil {
		return err
	}
	return r.empty()
}

// times parses the time attributes of a into the named times, in the
// order of their names (so "created" is reported before "updated").
func (b *builder) times(a map[string]string, dst map[string]*time.Time) error {
	for _, name := range slices.Sorted(maps.Keys(dst)) {
		t, err := parseTime(a[name])
		if err != nil {
			return b.r.elemErr("%s: %v", name, err)
		}
		*dst[name] = t
	}
	return nil
}

// finish runs the checks that span items and sorts the content.
func (b *builder) finish() error {
	c := &b.c
	if !b.settings {
		return errAt(b.lines["alias:"+c.Site.Host], "orchard-site", "the <settings> element is missing")
	}
	if err := c.Site.Validate(); err != nil {
		return invalid(frame{desc: "settings", line: b.settingsLine}, err)
	}
	for _, cat := range c.Categories {
		if p := cat.Parent(); p != "" && b.lines["category:"+p] == 0 {
			return errAt(b.lines["category:"+cat.Path], "category path="+strconv.Quote(cat.Path),
				"its parent category %q is not in the file", p)
		}
	}
	for _, p := range c.Pages {
		if line := b.lines["category:"+p.Path]; line != 0 {
			return errAt(b.lines["page:"+p.Path], "page path="+strconv.Quote(p.Path),
				"%q is both a page and a category (the category is at line %d)", p.Path, line)
		}
		if p.Category != "" && b.lines["category:"+p.Category] == 0 {
			return errAt(b.lines["page:"+p.Path], "page path="+strconv.Quote(p.Path),
				"its category %q is not in the file", p.Category)
		}
	}
	slices.Sort(c.Site.Aliases)
	byPath := func(x, y string) int { return strings.Compare(x, y) }
	slices.SortFunc(c.Categories, func(x, y orchard.Category) int { return byPath(x.Path, y.Path) })
	slices.SortFunc(c.Pages, func(x, y orchard.Page) int { return byPath(x.Path, y.Path) })
	slices.SortFunc(c.Assets, func(x, y orchard.Asset) int { return byPath(x.Path, y.Path) })
	slices.SortFunc(c.Templates, func(x, y orchard.Template) int { return byPath(x.Name, y.Name) })
	slices.SortFunc(c.Users, func(x, y orchard.User) int { return byPath(x.Name, y.Name) })
	for _, t := range c.Templates {
		if err := validateTemplate(c, t); err != nil {
			return invalid(frame{desc: "template name=" + strconv.Quote(t.Name), line: b.lines["template:"+t.Name]}, err)
		}
	}
	return nil
}

// atoi parses a decimal int; "" is 0.
func atoi(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, strconv.ErrSyntax
	}
	return n, nil
}
