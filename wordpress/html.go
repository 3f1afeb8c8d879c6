package wordpress

import (
	"fmt"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// captionRE matches [caption attrs]content[/caption] (also the older
// [wp_caption]); content is an image, maybe in a link, then the caption.
var captionRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?s)\[(wp_)?caption([^\]]*)\](.*?)\[/(wp_)?caption\]`)
})

// attrRE matches name="value" (or single quotes) in a shortcode.
var attrRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`([a-zA-Z_-]+)=(?:"([^"]*)"|'([^']*)')`)
})

// imageRE matches the leading <img> or <a><img></a> of a caption.
var imageRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?is)^\s*((?:<a\b[^>]*>\s*)?<img\b[^>]*>(?:\s*</a>)?)`)
})

// convertCaptions turns [caption] shortcodes into <figure> elements with a
// <figcaption>, as WordPress renders them, and counts them.
func convertCaptions(s string) (string, int) {
	n := 0
	s = captionRE().ReplaceAllStringFunc(s, func(m string) string {
		sub := captionRE().FindStringSubmatch(m)
		attrs := map[string]string{}
		for _, a := range attrRE().FindAllStringSubmatch(sub[2], -1) {
			attrs[strings.ToLower(a[1])] = a[2] + a[3]
		}
		inner := sub[3]
		img := ""
		if loc := imageRE().FindStringSubmatchIndex(inner); loc != nil {
			img, inner = inner[loc[2]:loc[3]], inner[loc[1]:]
		}
		caption := strings.TrimSpace(inner)
		if caption == "" {
			caption = html.EscapeString(attrs["caption"])
		}
		n++
		var b strings.Builder
		b.WriteString(`<figure class="wp-caption`)
		if al := attrs["align"]; al != "" {
			b.WriteString(" " + html.EscapeString(al))
		}
		b.WriteByte('"')
		if id := attrs["id"]; id != "" {
			fmt.Fprintf(&b, ` id="%s"`, html.EscapeString(id))
		}
		if w := attrs["width"]; w != "" && strings.Trim(w, "0123456789") == "" {
			fmt.Fprintf(&b, ` style="width: %spx"`, w)
		}
		b.WriteString(">" + img)
		if caption != "" {
			b.WriteString("<figcaption>" + caption + "</figcaption>")
		}
		b.WriteString("</figure>")
		return b.String()
	})
	return s, n
}

// shortcodeRE matches what looks like a shortcode: [name], [name attrs]
// or [/name]; a name starts with a letter.
var shortcodeRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\[/?([a-zA-Z][a-zA-Z0-9_-]*)(?:\s[^\[\]]*)?/?\]`)
})

// shortcodes returns the names of the shortcodes left in s, sorted, once
// each. Text in square brackets that is not a shortcode may be counted: a
// report errs on the side of showing.
func shortcodes(s string) []string {
	var names []string
	for _, m := range shortcodeRE().FindAllStringSubmatch(s, -1) {
		names = append(names, strings.ToLower(m[1]))
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// blockRE matches a chunk that starts with a block-level element, which
// autop leaves as it is.
var blockRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)^<(?:!--|p\b|div|h[1-6]|ul|ol|li|dl|blockquote|pre|table|figure|hr|form|section|article|aside|header|footer|nav|address|iframe|script|style|video|audio)`)
})

// blankLineRE matches the blank lines between paragraphs.
var blankLineRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\n\s*\n`)
})

// autop adds the paragraphs WordPress adds when it renders a post
// (wpautop): chunks separated by blank lines become <p> elements, single
// line breaks <br>. Chunks that start with a block element are left alone,
// and so is content that has no blank line (block-editor content marks its
// paragraphs itself).
func autop(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if !strings.Contains(s, "\n\n") {
		return s
	}
	var out []string
	for _, chunk := range blankLineRE().Split(s, -1) {
		chunk = strings.TrimSpace(chunk)
		switch {
		case chunk == "":
		case blockRE().MatchString(chunk):
			out = append(out, chunk)
		default:
			out = append(out, "<p>"+strings.ReplaceAll(chunk, "\n", "<br />\n")+"</p>")
		}
	}
	return strings.Join(out, "\n\n")
}

// urlAttrRE matches an href or src attribute's value.
var urlAttrRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\b(href|src)\s*=\s*("[^"]*"|'[^']*')`)
})

// rewriteLinks points href and src attributes that name the old site at
// the imported items and uploads.
func (cv *converter) rewriteLinks(s string) string {
	return urlAttrRE().ReplaceAllStringFunc(s, func(m string) string {
		sub := urlAttrRE().FindStringSubmatch(m)
		quote := sub[2][:1]
		raw := html.UnescapeString(sub[2][1 : len(sub[2])-1])
		if to, ok := cv.newURL(raw); ok {
			return sub[1] + "=" + quote + html.EscapeString(to) + quote
		}
		return m
	})
}

// newURL returns the orchard path for a link to the old site.
func (cv *converter) newURL(raw string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || !slices.Contains(cv.hosts, strings.ToLower(u.Host)) {
		return "", false
	}
	frag := ""
	if u.Fragment != "" {
		frag = "#" + u.EscapedFragment()
	}
	if strings.Contains(u.Path, "/wp-content/uploads/") {
		if p := cv.upload(raw); p != "" {
			return p, true
		}
		return "", false
	}
	if u.RawQuery != "" {
		q := u.Query()
		for _, k := range []string{"p", "page_id"} {
			if id := q.Get(k); id != "" {
				if p, ok := cv.links["?"+k+"="+id]; ok {
					return p + frag, true
				}
			}
		}
	}
	p := u.Path
	if p == "" || p == "/" {
		return "/" + frag, true
	}
	for _, k := range []string{p, strings.TrimSuffix(p, "/"), strings.TrimSuffix(p, "/") + "/"} {
		if to, ok := cv.links[k]; ok {
			return to + frag, true
		}
	}
	cv.rep.Unmapped = append(cv.rep.Unmapped, raw)
	return "", false
}

// tagRE matches an HTML tag.
var tagRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`<[^>]*>`)
})

// stripTags returns s without tags and with entities decoded.
func stripTags(s string) string {
	return html.UnescapeString(tagRE().ReplaceAllString(s, " "))
}
