package monitor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Label is one name="value" pair of a sample.
type Label struct{ Name, Value string }

// Sample is one line of the Prometheus text format.
type Sample struct {
	Name   string
	Labels []Label
	Value  float64
}

// Label returns the value of the label name ("" when absent).
func (s Sample) Label(name string) string {
	for _, l := range s.Labels {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// Bounds on what ParseText accepts from a scraped process.
const (
	maxSampleLine = 64 << 10
	maxSamples    = 100000
	maxLabels     = 32
)

// ParseText reads the Prometheus text exposition format (version 0.0.4):
// comments and blank lines are skipped, timestamps ignored. It accepts only
// what the format allows and stops with an error naming the line.
func ParseText(r io.Reader) ([]Sample, error) { return ParseTextNames(r, nil) }

// ParseTextNames is ParseText keeping only the samples whose metric name
// keep accepts (nil: all). A line of another metric is skipped after its
// name, its labels and value neither parsed nor checked nor counted
// against the limit on samples: a scraper pays for the series it reads,
// not for every series a process exposes (a node's per-site series were
// 60,000 allocations per scrape at 1,000 sites).
func ParseTextNames(r io.Reader, keep func(name []byte) bool) ([]Sample, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxSampleLine)
	var out []Sample
	line := 0
	for sc.Scan() {
		line++
		t := bytes.TrimSpace(sc.Bytes())
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		if keep != nil {
			i := 0
			for i < len(t) && isNameChar(t[i], i == 0) {
				i++
			}
			if !keep(t[:i]) {
				continue
			}
		}
		if len(out) >= maxSamples {
			return nil, fmt.Errorf("more than %d samples", maxSamples)
		}
		s, err := parseSampleLine(string(t))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return out, nil
}

func isNameChar(c byte, first bool) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

func parseSampleLine(t string) (Sample, error) {
	var s Sample
	i := 0
	for i < len(t) && isNameChar(t[i], i == 0) {
		i++
	}
	if i == 0 {
		return s, errors.New("no metric name")
	}
	s.Name = t[:i]
	if i < len(t) && t[i] == '{' {
		i++
		for {
			for i < len(t) && t[i] == ' ' {
				i++
			}
			if i < len(t) && t[i] == '}' {
				i++
				break
			}
			j := i
			for j < len(t) && isNameChar(t[j], j == i) && t[j] != ':' {
				j++
			}
			if j == i || j >= len(t) || t[j] != '=' || j+1 >= len(t) || t[j+1] != '"' {
				return s, errors.New("bad label")
			}
			name := t[i:j]
			i = j + 2
			var v strings.Builder
			closed := false
			for i < len(t) {
				c := t[i]
				if c == '\\' {
					if i+1 >= len(t) {
						return s, errors.New("bad escape")
					}
					switch t[i+1] {
					case '\\':
						v.WriteByte('\\')
					case '"':
						v.WriteByte('"')
					case 'n':
						v.WriteByte('\n')
					default:
						return s, errors.New("bad escape")
					}
					i += 2
					continue
				}
				if c == '"' {
					closed = true
					i++
					break
				}
				v.WriteByte(c)
				i++
			}
			if !closed {
				return s, errors.New("unterminated label value")
			}
			if len(s.Labels) >= maxLabels {
				return s, errors.New("too many labels")
			}
			s.Labels = append(s.Labels, Label{name, v.String()})
			for i < len(t) && t[i] == ' ' {
				i++
			}
			if i < len(t) && t[i] == ',' {
				i++
				continue
			}
			if i < len(t) && t[i] == '}' {
				i++
				break
			}
			return s, errors.New("bad label list")
		}
	}
	rest := strings.Fields(t[i:])
	if len(rest) < 1 || len(rest) > 2 {
		return s, errors.New("want a value and an optional timestamp")
	}
	v, err := parseValue(rest[0])
	if err != nil {
		return s, err
	}
	s.Value = v
	if len(rest) == 2 {
		if _, err := strconv.ParseInt(rest[1], 10, 64); err != nil {
			return s, errors.New("bad timestamp")
		}
	}
	return s, nil
}

func parseValue(v string) (float64, error) {
	switch v {
	case "+Inf", "Inf":
		return strconv.ParseFloat("+Inf", 64)
	case "-Inf":
		return strconv.ParseFloat("-Inf", 64)
	case "NaN":
		return strconv.ParseFloat("NaN", 64)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("bad value %q", v)
	}
	return f, nil
}
