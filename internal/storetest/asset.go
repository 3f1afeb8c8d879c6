package storetest

import (
	"bytes"
	"testing"

	orchard "github.com/orchardhq/orchard"
)

// allBytes is every byte value, twice, to prove binary data round-trips.
func allBytes() []byte {
	b := make([]byte, 512)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func testAsset(t *testing.T, open Opener) {
	const host = "example.com"
	t.Run("OK", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		img := &orchard.Asset{Path: "/img/logo.png", ContentType: "image/png", Data: allBytes(), Updated: at(3)}
		css := &orchard.Asset{Path: "/theme/style.css", ContentType: "text/css; charset=utf-8", Data: []byte("body{}")}
		empty := &orchard.Asset{Path: "/empty.txt", ContentType: "text/plain", Data: nil}
		for _, a := range []*orchard.Asset{css, img, empty} {
			wantOK(t, "PutAsset("+a.Path+")", s.PutAsset(ctx, host, a))
		}
		wantUTC(t, "Updated", css.Updated)
		got, err := s.Asset(ctx, host, "/img/logo.png")
		wantOK(t, "Asset", err)
		if !bytes.Equal(got.Data, allBytes()) {
			t.Errorf("binary data differs after a round trip: got %d bytes", len(got.Data))
		}
		same(t, "Asset", got, img)
		got, err = s.Asset(ctx, host, "/empty.txt")
		wantOK(t, "Asset(empty)", err)
		if len(got.Data) != 0 {
			t.Errorf("empty asset has %d bytes", len(got.Data))
		}

		list, err := s.Assets(ctx, host)
		wantOK(t, "Assets", err)
		wantKeys(t, "Assets", keys(list, func(a *orchard.Asset) string { return a.Path }),
			[]string{"/empty.txt", "/img/logo.png", "/theme/style.css"})
		for _, a := range list {
			if a.Data != nil {
				t.Errorf("Assets returned data for %s", a.Path)
			}
			if a.ContentType == "" || a.Updated.IsZero() {
				t.Errorf("Assets left out the type or time of %s: %+v", a.Path, a)
			}
		}

		// Replace, then delete.
		wantOK(t, "PutAsset(replace)", s.PutAsset(ctx, host, &orchard.Asset{Path: "/theme/style.css", ContentType: "text/css", Data: []byte("p{}")}))
		got, err = s.Asset(ctx, host, "/theme/style.css")
		wantOK(t, "Asset", err)
		if string(got.Data) != "p{}" || got.ContentType != "text/css" {
			t.Errorf("replaced asset: %q %q", got.ContentType, got.Data)
		}
		wantOK(t, "DeleteAsset", s.DeleteAsset(ctx, host, "/theme/style.css"))
		_, err = s.Asset(ctx, host, "/theme/style.css")
		wantCode(t, "Asset after delete", err, orchard.ENOTFOUND)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		for _, p := range []string{"/x.css", "/../x", ""} {
			_, err := s.Asset(ctx, host, p)
			wantCode(t, "Asset("+p+")", err, orchard.ENOTFOUND)
			wantCode(t, "DeleteAsset("+p+")", s.DeleteAsset(ctx, host, p), orchard.ENOTFOUND)
		}
		err := s.PutAsset(ctx, "missing.com", &orchard.Asset{Path: "/x.css", ContentType: "text/css"})
		wantCode(t, "PutAsset on a missing site", err, orchard.ENOTFOUND)
		_, err = s.Assets(ctx, "missing.com")
		wantCode(t, "Assets on a missing site", err, orchard.ENOTFOUND)
		_, err = s.Asset(ctx, "missing.com", "/x.css")
		wantCode(t, "Asset on a missing site", err, orchard.ENOTFOUND)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		wantInvalid(t, "PutAsset", func(a *orchard.Asset) error { return s.PutAsset(ctx, host, a) }, []invalid[orchard.Asset]{
			{"Dir", orchard.Asset{Path: "/theme/", ContentType: "text/css"}},
			{"DotDot", orchard.Asset{Path: "/../etc/passwd", ContentType: "text/plain"}},
			{"NoType", orchard.Asset{Path: "/x.css"}},
			{"TypeControl", orchard.Asset{Path: "/x.css", ContentType: "text/css\r\nX-Evil: 1"}},
			{"TooBig", orchard.Asset{Path: "/x.bin", ContentType: "application/octet-stream", Data: make([]byte, orchard.MaxAssetLen+1)}},
		})
		list, err := s.Assets(ctx, host)
		wantNone(t, "Assets after refused puts", list, err)
	})
}

func testTemplate(t *testing.T, open Opener) {
	const host = "example.com"
	t.Run("OK", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		post := &orchard.Template{Name: "layouts/post.html", Body: `{{template "partials/navbar.html" .}}<h1>{{.Title}}</h1>`, Updated: at(4)}
		for _, tm := range []*orchard.Template{
			post,
			{Name: "partials/navbar.html", Body: "<nav></nav>"},
			{Name: "layouts/404.html", Body: "Not found"},
		} {
			wantOK(t, "PutTemplate("+tm.Name+")", s.PutTemplate(ctx, host, tm))
		}
		got, err := s.Template(ctx, host, "layouts/post.html")
		wantOK(t, "Template", err)
		same(t, "Template", got, post)
		list, err := s.Templates(ctx, host)
		wantOK(t, "Templates", err)
		wantKeys(t, "Templates", keys(list, func(x *orchard.Template) string { return x.Name }),
			[]string{"layouts/404.html", "layouts/post.html", "partials/navbar.html"})
		if list[2].Body != "<nav></nav>" {
			t.Errorf("Templates: body %q", list[2].Body)
		}
		wantOK(t, "PutTemplate(replace)", s.PutTemplate(ctx, host, &orchard.Template{Name: "layouts/404.html", Body: "Gone"}))
		got, err = s.Template(ctx, host, "layouts/404.html")
		wantOK(t, "Template", err)
		if got.Body != "Gone" {
			t.Errorf("replaced template body %q", got.Body)
		}
		wantOK(t, "DeleteTemplate", s.DeleteTemplate(ctx, host, "layouts/404.html"))
		_, err = s.Template(ctx, host, "layouts/404.html")
		wantCode(t, "Template after delete", err, orchard.ENOTFOUND)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		_, err := s.Template(ctx, host, "layouts/post.html")
		wantCode(t, "Template", err, orchard.ENOTFOUND)
		wantCode(t, "DeleteTemplate", s.DeleteTemplate(ctx, host, "layouts/post.html"), orchard.ENOTFOUND)
		wantCode(t, "PutTemplate on a missing site", s.PutTemplate(ctx, "missing.com", &orchard.Template{Name: "layouts/x.html"}), orchard.ENOTFOUND)
		_, err = s.Templates(ctx, "missing.com")
		wantCode(t, "Templates on a missing site", err, orchard.ENOTFOUND)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		for _, name := range []string{"post.html", "layouts/post.txt", "layouts/../x.html", "other/x.html", "layouts/a b.html", ""} {
			wantCode(t, "PutTemplate("+name+")", s.PutTemplate(ctx, host, &orchard.Template{Name: name, Body: "x"}), orchard.EINVALID)
		}
		list, err := s.Templates(ctx, host)
		wantNone(t, "Templates after refused puts", list, err)
	})
}

func testUser(t *testing.T, open Opener) {
	const host = "example.com"
	t.Run("OK", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		mustCreateSite(t, s, "other.com")
		admin := &orchard.User{Site: host, Name: "admin", PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA", Created: at(1)}
		root := &orchard.User{Site: "", Name: "admin", PasswordHash: "$2a$10$abcdefghijklmnopqrstuv"}
		wantOK(t, "PutUser(site)", s.PutUser(ctx, admin))
		wantOK(t, "PutUser(cluster)", s.PutUser(ctx, root))
		wantOK(t, "PutUser(editor)", s.PutUser(ctx, &orchard.User{Site: "EXAMPLE.com", Name: "editor", PasswordHash: "x"}))
		wantOK(t, "PutUser(other)", s.PutUser(ctx, &orchard.User{Site: "other.com", Name: "bob", PasswordHash: "x"}))
		wantUTC(t, "Created", root.Created)

		got, err := s.User(ctx, host, "admin")
		wantOK(t, "User", err)
		same(t, "User", got, admin)
		got, err = s.User(ctx, "", "admin")
		wantOK(t, "User(cluster)", err)
		if got.Site != "" || got.PasswordHash != root.PasswordHash {
			t.Errorf("cluster admin came back as %+v", got)
		}

		users, err := s.Users(ctx, host)
		wantOK(t, "Users", err)
		wantKeys(t, "Users", keys(users, func(u *orchard.User) string { return u.Site + "/" + u.Name }),
			[]string{"example.com/admin", "example.com/editor"})
		users, err = s.Users(ctx, "")
		wantOK(t, "Users(cluster)", err)
		wantKeys(t, "Users(cluster)", keys(users, func(u *orchard.User) string { return u.Site + "/" + u.Name }), []string{"/admin"})

		// Replacing keeps Created and changes the hash.
		wantOK(t, "PutUser(replace)", s.PutUser(ctx, &orchard.User{Site: host, Name: "admin", PasswordHash: "new"}))
		got, err = s.User(ctx, host, "admin")
		wantOK(t, "User", err)
		if got.PasswordHash != "new" || !got.Created.Equal(at(1)) {
			t.Errorf("replaced user: hash %q created %v, want new and %v", got.PasswordHash, got.Created, at(1))
		}

		wantOK(t, "DeleteUser", s.DeleteUser(ctx, host, "admin"))
		_, err = s.User(ctx, host, "admin")
		wantCode(t, "User after delete", err, orchard.ENOTFOUND)
		if _, err := s.User(ctx, "", "admin"); err != nil {
			t.Errorf("deleting a site's admin removed the cluster admin: %v", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		err := s.PutUser(ctx, &orchard.User{Site: "missing.com", Name: "admin", PasswordHash: "x"})
		wantCode(t, "PutUser on a missing site", err, orchard.ENOTFOUND)
		_, err = s.User(ctx, host, "nobody")
		wantCode(t, "User", err, orchard.ENOTFOUND)
		_, err = s.User(ctx, "", "nobody")
		wantCode(t, "User(cluster)", err, orchard.ENOTFOUND)
		_, err = s.Users(ctx, "missing.com")
		wantCode(t, "Users on a missing site", err, orchard.ENOTFOUND)
		wantCode(t, "DeleteUser", s.DeleteUser(ctx, host, "nobody"), orchard.ENOTFOUND)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		s, ctx := mustOpenSite(t, open, host)
		for _, u := range []orchard.User{
			{Site: host, Name: "", PasswordHash: "x"},
			{Site: host, Name: "a b", PasswordHash: "x"},
			{Site: host, Name: "a'; DROP TABLE orchard_users; --", PasswordHash: "x"},
			{Site: host, Name: "admin", PasswordHash: ""},
		} {
			wantCode(t, "PutUser("+u.Name+")", s.PutUser(ctx, &u), orchard.EINVALID)
		}
		users, err := s.Users(ctx, host)
		wantNone(t, "Users after refused puts", users, err)
	})
}
