package orchard_test

import (
	"strings"
	"testing"

	"github.com/orchardhq/orchard"
)

func TestRedirectValidate(t *testing.T) {
	tests := []struct {
		name     string
		from, to string
		wantFrom string // "" when the redirect must be refused
	}{
		{"OK/Path", "/old/", "/new/", "/old/"},
		{"OK/File", "/old.html", "/new/", "/old.html"},
		{"OK/AbsoluteURL", "/old/", "https://example.org/new/?a=1#x", "/old/"},
		{"OK/Cleaned", "/a//b/./c/", "/c/", "/a/b/c/"},
		{"OK/Escaped", "/caf%C3%A9/", "/cafe/", "/caf%C3%A9/"},
		{"OK/Unescaped", "/café/", "/cafe/", "/caf%C3%A9/"},
		{"OK/Percent", "/100%25/", "/x/", "/100%25/"},
		{"OK/Space", "/a b/", "/x/", "/a%20b/"},
		{"OK/ToWithQuery", "/old/", "/search/?q=x", "/old/"},
		{"ErrFromEmpty", "", "/x/", ""},
		{"ErrFromRelative", "old/", "/x/", ""},
		{"ErrFromURL", "http://example.com/old/", "/x/", ""},
		{"ErrFromSchemeRelative", "//example.com/old/", "/x/", ""},
		{"ErrFromDotDot", "/a/../etc/", "/x/", ""},
		{"ErrFromEscapedDotDot", "/a/%2e%2e/etc/", "/x/", ""},
		{"ErrFromControl", "/a\nb/", "/x/", ""},
		{"ErrFromQuery", "/?p=12", "/x/", ""},
		{"ErrFromEncodedSlash", "/a%2fb/", "/x/", ""},
		{"ErrToEmpty", "/old/", "", ""},
		{"ErrToSelf", "/old/", "/old/", ""},
		{"ErrToCRLF", "/old/", "/x/\r\nSet-Cookie: a=b", ""},
		{"ErrToSpace", "/old/", "/x y/", ""},
		{"ErrToDotDot", "/old/", "/a/../b/", ""},
		{"ErrToSchemeRelative", "/old/", "//evil.example/", ""},
		{"ErrToJavascript", "/old/", "javascript:alert(1)", ""},
		{"ErrToFTP", "/old/", "ftp://example.com/", ""},
		{"ErrToNoHost", "/old/", "https:///x", ""},
		{"ErrToUserinfo", "/old/", "https://u:p@example.com/", ""},
		{"ErrToRelative", "/old/", "new/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := orchard.Redirect{From: tt.from, To: tt.to}
			err := r.Validate()
			if tt.wantFrom == "" {
				if orchard.ErrorCode(err) != orchard.EINVALID {
					t.Fatalf("Validate(%q -> %q) = %v, want EINVALID", tt.from, tt.to, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate(%q -> %q): %v", tt.from, tt.to, err)
			}
			if r.From != tt.wantFrom {
				t.Errorf("From = %q, want %q", r.From, tt.wantFrom)
			}
		})
	}
}

func TestValidateRedirects(t *testing.T) {
	t.Run("OK/Sorted", func(t *testing.T) {
		rs := []orchard.Redirect{{From: "/b/", To: "/x/"}, {From: "/a/", To: "/x/"}}
		if err := orchard.ValidateRedirects(rs); err != nil {
			t.Fatal(err)
		}
		if rs[0].From != "/a/" || rs[1].From != "/b/" {
			t.Errorf("not sorted by From: %v", rs)
		}
	})
	t.Run("ErrDuplicate", func(t *testing.T) {
		// Equal once cleaned.
		rs := []orchard.Redirect{{From: "/a/", To: "/x/"}, {From: "/a//", To: "/y/"}}
		if err := orchard.ValidateRedirects(rs); orchard.ErrorCode(err) != orchard.EINVALID {
			t.Errorf("ValidateRedirects(duplicate) = %v, want EINVALID", err)
		}
	})
	t.Run("ErrSiteValidate", func(t *testing.T) {
		s := orchard.Site{Host: "example.com", Redirects: []orchard.Redirect{{From: "http://example.com/a/", To: "/b/"}}}
		if err := s.Validate(); orchard.ErrorCode(err) != orchard.EINVALID {
			t.Errorf("Site.Validate with a bad redirect = %v, want EINVALID", err)
		}
	})
}

// FuzzRedirectValidate: a redirect that validates is safe to send (a To
// with no control character or space, not scheme-relative), its From is a
// path a request cleans to, and validating it again changes nothing (a
// node validates what the master validated and stored).
func FuzzRedirectValidate(f *testing.F) {
	for _, s := range [][2]string{
		{"/old/", "/new/"}, {"/a//b/./c", "https://example.org/x?y#z"}, {"/caf%C3%A9/", "/"},
		{"//evil/", "/x"}, {"/a/%2e%2e/", "/x"}, {"/x", "/y\r\nA: b"}, {"/x", "javascript:alert(1)"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, from, to string) {
		r := orchard.Redirect{From: from, To: to}
		if r.Validate() != nil {
			return
		}
		if strings.HasPrefix(r.To, "//") || strings.ContainsAny(r.To, " \r\n\t\x00\\") {
			t.Fatalf("unsafe To %q accepted", r.To)
		}
		if _, err := orchard.CleanRequestPath(r.From); err != nil || strings.HasPrefix(r.From, "//") {
			t.Fatalf("From %q is not a path a request can clean to: %v", r.From, err)
		}
		again := r
		if err := again.Validate(); err != nil || again != r {
			t.Fatalf("validating %+v again: %+v, %v", r, again, err)
		}
	})
}
