package storetest

import (
	"testing"

	orchard "github.com/orchardhq/orchard"
)

// hostile strings must be stored and returned byte for byte.
var hostile = []string{
	`'; DROP TABLE orchard_sites; --`,
	`" OR 1=1 --`,
	`Robert'); DELETE FROM pages;--`,
	"naïve café — 日本語 🍎 עברית",
	"tab\tnew\nline\r\nreturn",
	"back\\slash %s %d %%",
	"nul\x00in the\x00middle",
	"\x00",
	"<script>alert('x')</script>",
	"",
}

func testHostile(t *testing.T, open Opener) {
	const host = "example.com"
	s := mustOpen(t, open)
	ctx := t.Context()
	site := &orchard.Site{Host: host, Title: hostile[0], Description: hostile[3]}
	wantOK(t, "CreateSite", s.CreateSite(ctx, site))
	got, err := s.Site(ctx, host)
	wantOK(t, "Site", err)
	if got.Title != hostile[0] || got.Description != hostile[3] {
		t.Errorf("site strings: got %q %q", got.Title, got.Description)
	}
	mustPutCategory(t, s, host, "/c/")
	for i, v := range hostile {
		title := v
		if title == "" || title == "\x00" {
			title = "t" + v
		}
		p := &orchard.Page{Path: "/c/p" + string(rune('a'+i)) + "/", Category: "/c/", Title: title,
			Body: v, Description: v, Layout: "post"}
		mustPutPage(t, s, host, p)
		got, err := s.Page(ctx, host, p.Path)
		wantOK(t, "Page", err)
		if got.Title != title || got.Body != v || got.Description != v {
			t.Errorf("page %d: got title %q body %q description %q, want %q", i, got.Title, got.Body, got.Description, v)
		}
		tm := &orchard.Template{Name: "partials/p" + string(rune('a'+i)) + ".html", Body: v}
		wantOK(t, "PutTemplate", s.PutTemplate(ctx, host, tm))
		gt, err := s.Template(ctx, host, tm.Name)
		wantOK(t, "Template", err)
		if gt.Body != v {
			t.Errorf("template %d: body %q, want %q", i, gt.Body, v)
		}
		a := &orchard.Asset{Path: "/a" + string(rune('a'+i)) + ".txt", ContentType: "text/plain", Data: []byte(v)}
		wantOK(t, "PutAsset", s.PutAsset(ctx, host, a))
		ga, err := s.Asset(ctx, host, a.Path)
		wantOK(t, "Asset", err)
		if string(ga.Data) != v {
			t.Errorf("asset %d: data %q, want %q", i, ga.Data, v)
		}
		if v != "" {
			u := &orchard.User{Site: host, Name: "u" + string(rune('a'+i)), PasswordHash: v}
			wantOK(t, "PutUser", s.PutUser(ctx, u))
			gu, err := s.User(ctx, host, u.Name)
			wantOK(t, "User", err)
			if gu.PasswordHash != v {
				t.Errorf("user %d: hash %q, want %q", i, gu.PasswordHash, v)
			}
		}
	}
	// Hostile keys name nothing and break nothing.
	for _, v := range hostile {
		if _, err := s.Page(ctx, host, v); orchard.ErrorCode(err) != orchard.ENOTFOUND {
			t.Errorf("Page(%q): %v, want ENOTFOUND", v, err)
		}
		if _, err := s.Site(ctx, v); orchard.ErrorCode(err) != orchard.ENOTFOUND {
			t.Errorf("Site(%q): %v, want ENOTFOUND", v, err)
		}
		if _, err := s.User(ctx, host, v); orchard.ErrorCode(err) != orchard.ENOTFOUND {
			t.Errorf("User(%q): %v, want ENOTFOUND", v, err)
		}
	}
	// Everything is still there in one snapshot.
	c, err := s.LoadSite(ctx, host)
	wantOK(t, "LoadSite", err)
	if len(c.Pages) != len(hostile) || len(c.Templates) != len(hostile) || len(c.Assets) != len(hostile) {
		t.Errorf("LoadSite: %d pages, %d templates, %d assets, want %d each", len(c.Pages), len(c.Templates), len(c.Assets), len(hostile))
	}
	sites, err := s.Sites(ctx)
	wantOK(t, "Sites", err)
	if len(sites) != 1 {
		t.Errorf("Sites: %d, want 1", len(sites))
	}
}
