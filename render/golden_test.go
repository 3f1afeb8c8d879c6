package render_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// frameKey is the page whose whole output, golden/page.html, stands for the
// default theme's frame (head, banner, navbar, sidebar, footer): the other
// HTML pages' goldens are diffs against it, so the frame is written once.
const frameKey, frameFile = "/about/index.html", "page.html"

// TestGolden compares every kind of output with testdata/golden. A NAME.diff
// golden holds only the lines in which a page differs from the frame page
// (diff -U0 hunks); the test applies it to page.html and compares the whole
// output, so a change anywhere in any page fails as before.
func TestGolden(t *testing.T) {
	r := mustNew(t, fixture(t))
	frame := mustRender(t, r, frameKey)
	for _, tc := range []struct{ key, file string }{
		{frameKey, frameFile},
		{"/news/hello/index.html", "post.html.diff"},
		{"/news/index.html", "listing.html.diff"},
		{"/index.html", "home.html.diff"},
		{"/404.html", "404.html.diff"},
		{"/sitemap.xml", "sitemap.xml"},
		{"/feed.xml", "feed.xml"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := mustRender(t, r, tc.key)
			var want []byte
			if strings.HasSuffix(tc.file, ".diff") {
				want = applyDiff(t, golden(t, frameFile, frame), golden(t, tc.file, lineDiff(frame, got)))
			} else {
				want = golden(t, tc.file, got)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from testdata/golden/%s (run with -update if the change is intended); -want +got:\n%s",
					tc.key, tc.file, lineDiff(want, got))
			}
		})
	}
}

// golden returns testdata/golden/FILE, first rewriting it with got under
// -update.
func golden(tb testing.TB, file string, got []byte) []byte {
	tb.Helper()
	path := filepath.Join("testdata", "golden", file)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test ./render -update to create it)", err)
	}
	return want
}

// lineDiff returns the hunks that turn a into b, as diff -U0 writes them
// (without the file names): "@@ -l,s +l,s @@", then the lines of a taken
// out ("-"), then those of b put in ("+"). Lines are split at "\n" only,
// so applyDiff(a, lineDiff(a, b)) is b to the byte.
func lineDiff(a, b []byte) []byte {
	x, y := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	// lcs[i][j] is the length of the longest common subsequence of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		if i < len(x) && j < len(y) && x[i] == y[j] {
			i, j = i+1, j+1
			continue
		}
		i0, j0 := i, j
		for (i < len(x) || j < len(y)) && !(i < len(x) && j < len(y) && x[i] == y[j]) {
			if j == len(y) || (i < len(x) && lcs[i+1][j] >= lcs[i][j+1]) {
				i++
			} else {
				j++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(i0, i-i0), hunkRange(j0, j-j0))
		for _, l := range x[i0:i] {
			out.WriteString("-" + l + "\n")
		}
		for _, l := range y[j0:j] {
			out.WriteString("+" + l + "\n")
		}
	}
	return []byte(out.String())
}

// hunkRange writes a hunk's start and length as diff does: the first line
// counted from 1 (for an empty range, the line before it), the length left
// out when it is 1.
func hunkRange(start, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return strconv.Itoa(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

// applyDiff applies lineDiff's hunks to a, failing the test where a hunk
// does not fit (the lines it takes out are not those of a).
func applyDiff(tb testing.TB, a, diff []byte) []byte {
	tb.Helper()
	x := strings.Split(string(a), "\n")
	var out []string
	pos := 0
	lines := strings.Split(strings.TrimSuffix(string(diff), "\n"), "\n")
	for k := 0; k < len(lines) && len(diff) > 0; {
		start, n, err := parseHunkRange(lines[k])
		if err != nil {
			tb.Fatalf("diff line %d: %v", k+1, err)
		}
		if start < pos || start+n > len(x) {
			tb.Fatalf("diff line %d: hunk %q is out of order or past the end (%d lines)", k+1, lines[k], len(x))
		}
		out = append(out, x[pos:start]...)
		k++
		for _, want := range x[start : start+n] {
			if k == len(lines) || lines[k] != "-"+want {
				tb.Fatalf("diff line %d: takes out %q, the frame has %q there", k+1, lines[min(k, len(lines)-1)], want)
			}
			k++
		}
		for ; k < len(lines) && strings.HasPrefix(lines[k], "+"); k++ {
			out = append(out, lines[k][1:])
		}
		pos = start + n
	}
	return []byte(strings.Join(append(out, x[pos:]...), "\n"))
}

// parseHunkRange reads the lines a hunk header ("@@ -l,s +l,s @@") takes
// out of the first text: from start (counted from 0), n of them.
func parseHunkRange(header string) (start, n int, err error) {
	old, _, ok := strings.Cut(strings.TrimPrefix(header, "@@ -"), " ")
	if !ok || !strings.HasPrefix(header, "@@ -") {
		return 0, 0, fmt.Errorf("%q is not a hunk header", header)
	}
	first, count, hasCount := strings.Cut(old, ",")
	n = 1
	if hasCount {
		if n, err = strconv.Atoi(count); err != nil {
			return 0, 0, fmt.Errorf("hunk header %q: %w", header, err)
		}
	}
	if start, err = strconv.Atoi(first); err != nil {
		return 0, 0, fmt.Errorf("hunk header %q: %w", header, err)
	}
	if n > 0 {
		start-- // counted from 1, but an empty range names the line before it
	}
	return start, n, nil
}

// TestLineDiff: applying lineDiff's hunks gives back the second text to the
// byte, for the edits the goldens rely on (and at the edges).
func TestLineDiff(t *testing.T) {
	for _, tc := range []struct{ name, a, b string }{
		{"Same", "a\nb\n", "a\nb\n"},
		{"Change", "a\nb\nc\n", "a\nB\nc\n"},
		{"InsertFirst", "b\nc\n", "a\nb\nc\n"},
		{"DeleteLast", "a\nb\nc", "a\nb"},
		{"NewlineAtEnd", "a\nb", "a\nb\n"},
		{"FromEmpty", "", "x\ny\n"},
		{"ToEmpty", "x\ny\n", ""},
		{"Many", "h\n1\n2\n3\nm\nf\n", "h\n1\nX\n3\nm\nY\nZ\nf\n"},
		{"BlankLines", "a\n\n\nb\n", "a\n\nb\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := lineDiff([]byte(tc.a), []byte(tc.b))
			if got := applyDiff(t, []byte(tc.a), d); string(got) != tc.b {
				t.Errorf("applyDiff(%q, %q) = %q, want %q", tc.a, d, got, tc.b)
			}
			if (len(d) == 0) != (tc.a == tc.b) {
				t.Errorf("lineDiff(%q, %q) = %q: empty only for equal texts", tc.a, tc.b, d)
			}
		})
	}
}
