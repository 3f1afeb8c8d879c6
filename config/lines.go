package config

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// keyLines maps each dotted key of a TOML file to the line it is set on, with
// array-of-tables entries numbered: "node[1].listen", "balancer.pool[0].name".
// Table headers map too ("node[1]"). It is a light scan, enough to point a
// validation message at the right line; decoding is the decoder's job.
func keyLines(data []byte) map[string]int {
	lines := map[string]int{}
	counts := map[string]int{}
	table := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), MaxFileSize)
	for n := 1; sc.Scan(); n++ {
		s := strings.TrimSpace(sc.Text())
		switch {
		case s == "" || s[0] == '#':
		case strings.HasPrefix(s, "[["):
			name := strings.TrimSpace(strings.TrimSuffix(strings.SplitN(s[2:], "]]", 2)[0], "]]"))
			parent := arrayParent(name, counts)
			i := counts[name]
			counts[name] = i + 1
			table = fmt.Sprintf("%s[%d]", parent, i)
			lines[table] = n
		case s[0] == '[':
			name := strings.TrimSpace(strings.SplitN(s[1:], "]", 2)[0])
			table = arrayParent(name, counts)
			lines[table] = n
		default:
			k, _, ok := strings.Cut(s, "=")
			if !ok {
				continue
			}
			k = strings.Trim(strings.TrimSpace(k), `"'`)
			if table != "" {
				k = table + "." + k
			}
			lines[k] = n
		}
	}
	return lines
}

// arrayParent rewrites "balancer.pool" as seen inside the n-th [[x]] of a
// parent array, e.g. nothing to do for top-level names.
func arrayParent(name string, counts map[string]int) string {
	parts := strings.Split(name, ".")
	prefix := ""
	for i, p := range parts {
		if prefix != "" {
			prefix += "."
		}
		prefix += p
		if i < len(parts)-1 {
			if c, ok := counts[strings.Join(parts[:i+1], ".")]; ok && c > 0 {
				prefix += fmt.Sprintf("[%d]", c-1)
			}
		}
	}
	return prefix
}
