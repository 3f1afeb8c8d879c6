package monitor

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"

	"github.com/orchardhq/orchard"
)

// Point is one value of a series at a time. NaN values are gaps.
type Point struct {
	T time.Time
	V float64
}

// Series is a named line on a graph.
type Series struct {
	Name   string
	Points []Point
}

// Graph describes one SVG line graph.
type Graph struct {
	Title  string
	Unit   string // appended to axis labels, e.g. "ms", "%", "req/s"
	Width  int    // pixels; default 360
	Height int    // pixels; default 140
	From   time.Time
	To     time.Time
	Series []Series
	Min    float64 // the y axis always includes this (default 0)
	Max    float64 // the y axis includes at least this (0: from the data)
}

var palette = []string{"#2b6cb0", "#c05621", "#2f855a", "#b83280", "#6b46c1", "#b7791f", "#285e61", "#9b2c2c"}

// WriteSVG writes g as a self-contained SVG element (no scripts, no external
// references). Text is escaped.
func (g Graph) WriteSVG(w io.Writer) error {
	g.Width = orchard.OrDefault(g.Width, 360)
	g.Height = orchard.OrDefault(g.Height, 140)
	if !g.To.After(g.From) {
		g.To = g.From.Add(time.Minute)
	}
	const left, right, top, bottom = 46, 8, 18, 18
	pw, ph := float64(g.Width-left-right), float64(g.Height-top-bottom)
	lo, hi := g.Min, g.Max
	points := 0
	for _, s := range g.Series {
		for _, p := range s.Points {
			if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
				continue
			}
			points++
			lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
		}
	}
	if hi <= lo {
		hi = lo + 1
	}
	hi = niceCeil(hi)
	span := g.To.Sub(g.From).Seconds()
	x := func(t time.Time) float64 { return left + pw*t.Sub(g.From).Seconds()/span }
	y := func(v float64) float64 { return top + ph - ph*(v-lo)/(hi-lo) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="%d" height="%d" viewBox="0 0 %d %d" data-points="%d" role="img" aria-label="%s">`,
		g.Width, g.Height, g.Width, g.Height, points, html.EscapeString(g.Title))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#fff"/>`, g.Width, g.Height)
	fmt.Fprintf(&b, `<text x="%d" y="12" font-size="11" font-family="sans-serif" fill="#222">%s</text>`, left, html.EscapeString(g.Title))
	for i := 0; i <= 4; i++ {
		v := lo + (hi-lo)*float64(i)/4
		yy := y(v)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e2e8f0"/>`, left, yy, left+pw, yy)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="9" font-family="sans-serif" text-anchor="end" fill="#555">%s</text>`,
			left-3, yy+3, html.EscapeString(formatValue(v)+g.Unit))
	}
	for i := 0; i <= 3; i++ {
		t := g.From.Add(time.Duration(float64(g.To.Sub(g.From)) * float64(i) / 3))
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case 3:
			anchor = "end"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="9" font-family="sans-serif" text-anchor="%s" fill="#555">%s</text>`,
			x(t), g.Height-4, anchor, timeLabel(t, g.To.Sub(g.From)))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%.1f" fill="none" stroke="#a0aec0"/>`, left, top, pw, ph)
	for i, s := range g.Series {
		color := palette[i%len(palette)]
		var d strings.Builder
		pen := false
		for _, p := range s.Points {
			if math.IsNaN(p.V) || math.IsInf(p.V, 0) || p.T.Before(g.From) || p.T.After(g.To) {
				pen = false
				continue
			}
			cmd := 'L'
			if !pen {
				cmd = 'M'
			}
			fmt.Fprintf(&d, "%c%.1f %.1f ", cmd, x(p.T), y(p.V))
			pen = true
		}
		if d.Len() > 0 {
			fmt.Fprintf(&b, `<path class="series" d="%s" fill="none" stroke="%s" stroke-width="1.5"/>`, strings.TrimSpace(d.String()), color)
		}
		if len(g.Series) > 1 {
			fmt.Fprintf(&b, `<text x="%.1f" y="12" font-size="9" font-family="sans-serif" text-anchor="end" fill="%s">%s</text>`,
				float64(g.Width-right)-float64(len(g.Series)-1-i)*60, color, html.EscapeString(truncate(s.Name, 10)))
		}
	}
	if points == 0 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" font-family="sans-serif" text-anchor="middle" fill="#999">no data yet</text>`, left+pw/2, top+ph/2)
	}
	b.WriteString(`</svg>`)
	_, err := io.WriteString(w, b.String())
	return err
}

// SVG returns g rendered by WriteSVG.
func (g Graph) SVG() string {
	var b strings.Builder
	_ = g.WriteSVG(&b)
	return b.String()
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func formatValue(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return trimZero(fmt.Sprintf("%.1f", v/1e9)) + "G"
	case a >= 1e6:
		return trimZero(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case a >= 1e4:
		return trimZero(fmt.Sprintf("%.1f", v/1e3)) + "k"
	case a >= 10 || a == 0:
		return fmt.Sprintf("%.0f", v)
	case a >= 1:
		return trimZero(fmt.Sprintf("%.1f", v))
	default:
		return trimZero(fmt.Sprintf("%.2f", v))
	}
}

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func timeLabel(t time.Time, span time.Duration) string {
	t = t.UTC()
	if span > 36*time.Hour {
		return t.Format("Mon 15:04")
	}
	return t.Format("15:04")
}
