package main

import (
	"context"
	"fmt"
	"time"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/sqlite"
)

var genTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// content returns the site as orchard content: the same categories and
// Markdown pages as the Hugo site, the default templates (render's
// embedded base layout and partials) and the stylesheet.
func (s *site) content() *orchard.SiteContent {
	c := &orchard.SiteContent{Site: orchard.Site{Host: s.host, Title: s.host, Created: genTime, Updated: genTime}}
	for _, cat := range s.cats {
		c.Categories = append(c.Categories, orchard.Category{Path: cat, Title: cat[1 : len(cat)-1], Created: genTime, Updated: genTime})
	}
	for _, p := range s.pagePaths {
		c.Pages = append(c.Pages, orchard.Page{Path: p, Title: s.titles[p], Category: orchard.ParentDir(p),
			Format: orchard.FormatMarkdown, Body: s.bodies[p], Published: true, Created: genTime, Updated: genTime})
	}
	c.Pages = append(c.Pages, orchard.Page{Path: "/", Title: "Home", Body: "Welcome.", Published: true, Created: genTime, Updated: genTime})
	c.Assets = append(c.Assets, orchard.Asset{Path: "/theme/style.css", ContentType: "text/css; charset=utf-8",
		Data: []byte(s.files["/theme/style.css"].body), Updated: genTime})
	return c
}

// writeOrchard writes the site into the SQLite database at db.
func writeOrchard(s *site, db string) error {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.ReplaceSite(ctx, s.content(), true); err != nil {
		return fmt.Errorf("write %s: %w", s.host, err)
	}
	return nil
}

// editOrchard changes the body of one page, as an editor would.
func editOrchard(s *site, db string, page int) error {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	p, err := st.Page(ctx, s.host, s.pagePaths[page%len(s.pagePaths)])
	if err != nil {
		return err
	}
	p.Body += fmt.Sprintf("\n\nEdited at %s.\n", time.Now().Format(time.RFC3339Nano))
	return st.PutPage(ctx, s.host, p)
}
