package admin

import (
	"strings"
	"testing"

	orchard "github.com/orchardhq/orchard"
)

func TestUploadPath(t *testing.T) {
	tests := []struct{ dir, file, want string }{
		{"", "Logo.PNG", "/files/logo.png"},
		{"/theme/", "a.css", "/theme/a.css"},
		{"/x/y.css", "ignored.css", "/x/y.css"},
		{"/files/", `C:\Users\me\Pic.JPG`, "/files/pic.jpg"},
		{"/files/", "../../etc/passwd", "/files/passwd"},
		{"/files/", "..", "/files/.."},
	}
	for _, tt := range tests {
		if got := uploadPath(tt.dir, tt.file); got != tt.want {
			t.Errorf("uploadPath(%q, %q) = %q, want %q", tt.dir, tt.file, got, tt.want)
		}
	}
	if _, err := checkAsset("/files/..", nil); err == nil {
		t.Error("checkAsset accepted /files/..")
	}
}

// FuzzUploadPath checks that no browser-supplied file name gives a path that
// passes checkAsset yet escapes its directory or is not a clean content path.
func FuzzUploadPath(f *testing.F) {
	for _, s := range []string{"a.css", "../x.png", `..\..\x.css`, "a/b/c.txt", "", "..", ".", "A B.css", "x.css\x00.png", "é.css"} {
		f.Add("/files/", s)
	}
	f.Add("", "x.css")
	f.Add("/a/../b/", "x.css")
	f.Fuzz(func(t *testing.T, dir, file string) {
		p := uploadPath(dir, file)
		if _, err := checkAsset(p, []byte("body{}")); err != nil {
			return
		}
		if err := orchard.ValidateContentPath(p, false); err != nil {
			t.Fatalf("checkAsset accepted %q: %v", p, err)
		}
		if strings.Contains(p, "..") && strings.Contains(p, "/../") || strings.Contains(p, "\\\\") {
			t.Fatalf("unsafe path %q", p)
		}
		if strings.HasSuffix(dir, "/") && (dir != "" && !strings.HasPrefix(p, dir)) {
			t.Fatalf("path %q left directory %q", p, dir)
		}
	})
}
