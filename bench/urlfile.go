package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxURLLine bounds one line of a URL file.
const maxURLLine = 1 << 20

// ReadURLFile reads a siege URL file (see ParseURLs). A "<file" body names a
// file relative to the URL file's directory.
func ReadURLFile(path string) ([]Target, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dir := filepath.Dir(path)
	readBody := func(name string) ([]byte, error) {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		return os.ReadFile(name)
	}
	return ParseURLs(f, path, readBody)
}

// ParseURLs reads siege's URL file format: one request a line, as
//
//	URL
//	URL METHOD [data]
//	URL METHOD <file
//
// Blank lines and lines starting with # are skipped, and " #" starts a
// comment. NAME=value lines define variables that later lines use as $(NAME)
// or ${NAME}. A URL without a scheme gets http://. name is used in error
// messages; readBody loads "<file" bodies (nil makes them an error).
func ParseURLs(r io.Reader, name string, readBody func(string) ([]byte, error)) ([]Target, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxURLLine)
	vars := map[string]string{}
	var out []Target
	for n := 1; sc.Scan(); n++ {
		line := stripComment(sc.Text())
		if line == "" {
			continue
		}
		if k, v, ok := variableLine(line); ok {
			vars[k] = v
			continue
		}
		line, err := expand(line, vars)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		t, err := parseURLLine(line, readBody)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no URLs", name)
	}
	return out, nil
}

func stripComment(line string) string {
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "#") {
		return ""
	}
	if i := strings.Index(line, " #"); i >= 0 {
		line = line[:i]
	}
	if i := strings.Index(line, "\t#"); i >= 0 {
		line = line[:i]
	}
	return strings.TrimSpace(line)
}

// variableLine recognises NAME=value (spaces around = allowed), NAME made of
// letters, digits and '_'.
func variableLine(line string) (name, value string, ok bool) {
	i := strings.IndexByte(line, '=')
	if i <= 0 {
		return "", "", false
	}
	name = strings.TrimRight(line[:i], " \t")
	if name == "" {
		return "", "", false
	}
	for _, c := range name {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return "", "", false
		}
	}
	return name, strings.TrimSpace(line[i+1:]), true
}

// expand replaces $(NAME) and ${NAME} with defined variables.
func expand(line string, vars map[string]string) (string, error) {
	if !strings.Contains(line, "$") {
		return line, nil
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(line, '$')
		if i < 0 || i+1 >= len(line) || (line[i+1] != '(' && line[i+1] != '{') {
			if i < 0 {
				b.WriteString(line)
				return b.String(), nil
			}
			b.WriteString(line[:i+1])
			line = line[i+1:]
			continue
		}
		closer := byte(')')
		if line[i+1] == '{' {
			closer = '}'
		}
		j := strings.IndexByte(line[i+2:], closer)
		if j < 0 {
			return "", fmt.Errorf("unterminated variable in %q", line)
		}
		name := line[i+2 : i+2+j]
		v, ok := vars[name]
		if !ok {
			return "", fmt.Errorf("undefined variable %q", name)
		}
		b.WriteString(line[:i])
		b.WriteString(v)
		line = line[i+2+j+1:]
	}
}

var urlFileMethods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true,
	"DELETE": true, "PATCH": true, "OPTIONS": true,
}

func parseURLLine(line string, readBody func(string) ([]byte, error)) (Target, error) {
	rawURL, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	if !strings.Contains(rawURL, "://") {
		rawURL = "http://" + rawURL
	}
	t := Target{URL: rawURL}
	if rest != "" {
		method, data, _ := strings.Cut(rest, " ")
		method = strings.ToUpper(method)
		if !urlFileMethods[method] {
			return Target{}, fmt.Errorf("method %q: want GET, HEAD, POST, PUT, DELETE, PATCH or OPTIONS", method)
		}
		t.Method = method
		data = strings.TrimSpace(data)
		switch {
		case strings.HasPrefix(data, "<"):
			file := strings.TrimSpace(data[1:])
			if readBody == nil || file == "" {
				return Target{}, fmt.Errorf("body file %q cannot be read here", file)
			}
			b, err := readBody(file)
			if err != nil {
				return Target{}, fmt.Errorf("body: %w", err)
			}
			t.Body = b
		case data != "":
			t.Body = []byte(data)
		}
	}
	if err := t.validate(); err != nil {
		return Target{}, err
	}
	return t, nil
}
