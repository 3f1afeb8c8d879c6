package monitor

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/orchardhq/orchard"
)

// maxURLFileLines bounds a URL file so a wrong file (a log, a dump) is
// refused rather than started.
const maxURLFileLines = 10000

// ParseProbeTarget checks one target: an absolute http or https URL with a
// host, an optional method (an HTTP token, default HEAD) and an optional
// Host header (a DNS name, optionally with a port).
func ParseProbeTarget(method, rawURL, host string) (ProbeTarget, error) {
	t := ProbeTarget{URL: rawURL, Method: strings.ToUpper(method), Host: host}
	if t.Method == "" {
		t.Method = "HEAD"
	}
	if len(t.Method) > 16 || strings.IndexFunc(t.Method, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		return t, fmt.Errorf("method %q: use an HTTP method such as HEAD or GET", method)
	}
	if len(rawURL) > 4096 {
		return t, fmt.Errorf("URL longer than 4096 bytes")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return t, fmt.Errorf("URL %q: %v", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return t, fmt.Errorf("URL %q: want http:// or https://", rawURL)
	}
	if u.Hostname() == "" {
		return t, fmt.Errorf("URL %q has no host", rawURL)
	}
	if u.User != nil {
		return t, fmt.Errorf("URL %q: credentials in URLs are not supported", rawURL)
	}
	if host != "" {
		h, err := orchard.NormalizeHost(host)
		if err != nil {
			return t, fmt.Errorf("host %q: %v", host, err)
		}
		if strings.ContainsAny(host, " \t\r\n/") || h == "" {
			return t, fmt.Errorf("host %q is not a host name", host)
		}
	}
	return t, nil
}

// ParseURLFile reads probe targets, one a line: "URL", "METHOD URL" or
// "METHOD URL HOST". Blank lines and lines starting with # are skipped. An
// error names the line.
func ParseURLFile(r io.Reader) ([]ProbeTarget, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 8192)
	var out []ProbeTarget
	seen := map[string]bool{}
	line := 0
	for sc.Scan() {
		line++
		if line > maxURLFileLines {
			return nil, fmt.Errorf("more than %d lines", maxURLFileLines)
		}
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		var method, u, host string
		switch len(f) {
		case 1:
			u = f[0]
		case 2:
			method, u = f[0], f[1]
		case 3:
			method, u, host = f[0], f[1], f[2]
		default:
			return nil, fmt.Errorf("line %d: want URL, METHOD URL or METHOD URL HOST", line)
		}
		t, err := ParseProbeTarget(method, u, host)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
		if seen[t.URL] {
			return nil, fmt.Errorf("line %d: %s is listed twice", line, t.URL)
		}
		seen[t.URL] = true
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return out, nil
}
