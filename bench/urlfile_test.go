package bench_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orchardhq/orchard/bench"
)

func TestParseURLs(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // targets as "METHOD URL body", one a line
		err  string
	}{
		{name: "OK", in: "http://a.test/\nhttp://a.test/x?y=1\n", want: " http://a.test/ \n http://a.test/x?y=1 "},
		{name: "Comments", in: "# header\n\n   \nhttp://a.test/ # trailing\n\t#indented\n", want: " http://a.test/ "},
		{name: "NoScheme", in: "a.test:8080/p\n", want: " http://a.test:8080/p "},
		{name: "Variables", in: "HOST=http://a.test\nP = /x\n$(HOST)${P}\n", want: " http://a.test/x "},
		{name: "Post", in: "http://a.test/f POST a=1&b=2\n", want: "POST http://a.test/f a=1&b=2"},
		{name: "Methods", in: "http://a.test/ head\nhttp://a.test/ DELETE\n", want: "HEAD http://a.test/ \nDELETE http://a.test/ "},
		{name: "CRLF", in: "http://a.test/\r\n", want: " http://a.test/ "},
		{name: "ErrEmpty", in: "# nothing\n", err: "no URLs"},
		{name: "ErrMethod", in: "http://a.test/ FETCH x\n", err: "t.txt:1: method"},
		{name: "ErrVariable", in: "\n$(NOPE)/x\n", err: "t.txt:2: undefined variable"},
		{name: "ErrUnterminated", in: "$(X\n", err: "unterminated"},
		{name: "ErrScheme", in: "ftp://a.test/\n", err: "http"},
		{name: "ErrBodyFile", in: "http://a.test/ POST <x\n", err: "cannot be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bench.ParseURLs(strings.NewReader(tt.in), "t.txt", nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, tg := range got {
				lines = append(lines, fmt.Sprintf("%s %s %s", tg.Method, tg.URL, tg.Body))
			}
			if s := strings.Join(lines, "\n"); s != tt.want {
				t.Errorf("got\n%s\nwant\n%s", s, tt.want)
			}
		})
	}
}

func TestReadURLFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "b.json"), []byte(`{"a":1}`), 0o600)
	p := filepath.Join(dir, "urls.txt")
	os.WriteFile(p, []byte("http://a.test/ PUT <b.json\n"), 0o600)
	got, err := bench.ReadURLFile(p)
	if err != nil || len(got) != 1 || string(got[0].Body) != `{"a":1}` {
		t.Fatalf("got %+v, %v", got, err)
	}
	if _, err := bench.ReadURLFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: no error")
	}
}

// FuzzParseURLs: any input either fails with an error or yields targets that
// all validate; never a panic.
func FuzzParseURLs(f *testing.F) {
	f.Add("http://a.test/\n# c\nX=1\n$(X)\n")
	f.Add("a.test/p POST a=b\nhttp://[::1]:80/ HEAD\n")
	f.Add("${A}$(B\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := bench.ParseURLs(strings.NewReader(in), "fuzz", nil)
		if err != nil {
			return
		}
		for _, tg := range got {
			if err := (bench.Config{URLs: []bench.Target{tg}}).Validate(); err != nil {
				t.Fatalf("parsed target %+v does not validate: %v", tg, err)
			}
		}
	})
}
