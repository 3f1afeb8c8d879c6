package orchard

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"
)

// PageBody is a page's body together with the digest of the whole page it
// was read with (see Page.ContentDigest), as Store.PageBodies returns it. A
// reader that got the page's Digest earlier (Store.LoadSiteIndex) compares
// the two to tell whether the page changed in between.
type PageBody struct {
	Body   string
	Digest string
}

// ContentDigest returns a SHA-256 (hex) over every field of the page a
// render reads: Path, Title, Category, Layout, Format, Body, Description,
// Published, Created and Updated, each length-prefixed so that no two
// different pages digest alike. Stores compute it when a page is written
// (after Validate filled the defaults and the times are at the precision
// the store keeps) and keep it as Page.Digest; a renderer given a full
// page computes the same value, so both agree.
func (p *Page) ContentDigest() string {
	h := sha256.New()
	var buf []byte
	field := func(s string) {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(len(s)))
		if len(s) > 256 {
			h.Write(buf)
			buf = buf[:0]
			h.Write([]byte(s))
			return
		}
		buf = append(buf, s...)
	}
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return strconv.FormatInt(t.UnixNano(), 10)
	}
	published := "0"
	if p.Published {
		published = "1"
	}
	field(p.Path)
	field(p.Title)
	field(p.Category)
	field(p.Layout)
	field(p.Format)
	field(p.Body)
	field(p.Description)
	field(published)
	field(stamp(p.Created))
	field(stamp(p.Updated))
	h.Write(buf)
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}
